"""Contract stage: run a Great Expectations 1.x suite on a loaded source; fails closed, never leaks sensitive values.

``load_suite`` raises ContractError for a suite file that cannot be loaded; ``run_contract`` returns a
``ContractResult`` with ``passed=False`` for every other problem (see ``_gx`` for the full list).
Great Expectations itself is imported only when a contract runs, because importing it takes seconds.
"""

from oca_experiments.contracts._gx import run_contract
from oca_experiments.contracts._model import ContractFailure, ContractResult, ContractSuite, load_suite

__all__ = ["ContractFailure", "ContractResult", "ContractSuite", "load_suite", "run_contract"]

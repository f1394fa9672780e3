"""The public surface is curated: this test fails when __all__ changes without a decision."""

import oca_experiments as oca

EXPECTED = {
    "ContractError", "DataError", "DemoFiles", "EstimateResult", "EstimationError", "HypothesisResult", "OcaError",
    "PreregistrationError", "ReportError", "RunResult", "SpecError", "Study", "ValidationResult", "__version__",
    "demo_study_dir", "generate_demo", "load_study", "run_demo", "run_to_directory",
}


def test_all_is_curated() -> None:
    assert set(oca.__all__) == EXPECTED
    for name in oca.__all__:
        assert hasattr(oca, name), name


def test_error_tree_has_one_root() -> None:
    for name in ("SpecError", "PreregistrationError", "DataError", "ContractError", "EstimationError",
                 "ReportError"):
        assert issubclass(getattr(oca, name), oca.OcaError)
    assert str(oca.DataError("bad thing", file="a.csv", column="x", fix="do y")) == \
        "a.csv: column 'x': bad thing Fix: do y"

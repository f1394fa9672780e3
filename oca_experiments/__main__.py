from .cli import main

# Guarded: worker processes started with "spawn" import this module as __mp_main__ and must not rerun the CLI.
if __name__ == "__main__":
    main()

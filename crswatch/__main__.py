from .cli import main

main(prog_name="crswatch")  # `python -m crswatch` is still crswatch in messages and help

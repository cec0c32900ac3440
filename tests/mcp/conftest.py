import sys
from pathlib import Path

# serve_process and inprocess live beside the server tests.
sys.path.insert(0, str(Path(__file__).parent.parent / "server"))

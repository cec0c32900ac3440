import sys
from pathlib import Path

# Make tests/peers.py importable as `peers` from any test folder.
sys.path.insert(0, str(Path(__file__).parent))

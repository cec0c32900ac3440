import sys
from pathlib import Path

# the parity data set and query list sit next to the tests that use them
sys.path.insert(0, str(Path(__file__).parent))

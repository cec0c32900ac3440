import sys
from pathlib import Path

# Make the local receivers (receiver_server.py) importable from these tests.
sys.path.insert(0, str(Path(__file__).parent))

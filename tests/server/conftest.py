import sys
from pathlib import Path

# Make the helpers beside these tests (serve_process) importable.
sys.path.insert(0, str(Path(__file__).parent))

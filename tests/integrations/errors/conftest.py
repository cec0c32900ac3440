import sys
from pathlib import Path

# Make the corpus beside these tests importable.
sys.path.insert(0, str(Path(__file__).parent))

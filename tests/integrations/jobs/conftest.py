import sys
from pathlib import Path

# The job-system apps beside these tests run as workers and are imported by the tests.
sys.path.insert(0, str(Path(__file__).parent))

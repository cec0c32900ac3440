"""``watchkeeper --help`` must not pay for what a subcommand needs."""

import subprocess
import sys

HEAVY = ("psutil", "rich", "httpx", "watchkeeper.system", "watchkeeper.cli.metrics",
         "watchkeeper.cli.stats", "numpy")


def _modules_after(args: list[str]) -> tuple[str, set[str]]:
    code = (
        "import sys\n"
        f"sys.argv = ['watchkeeper', *{args!r}]\n"
        "from watchkeeper.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    text, _, modules = out.rpartition("MODULES ")
    return text, set(modules.split())


def test_help_lists_metrics_and_stats_without_importing_them():
    text, modules = _modules_after(["--help"])
    assert "metrics" in text and "stats" in text
    assert not modules & set(HEAVY)


def test_subcommand_help_imports_only_that_command():
    text, modules = _modules_after(["stats", "--help"])
    assert "--watch" in text
    assert "watchkeeper.cli.stats" in modules
    assert not {"psutil", "rich", "watchkeeper.cli.metrics"} & modules

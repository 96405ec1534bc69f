import subprocess
import sys

from bayes.cli import build_parser, main


def test_help_lists_domains(capsys):
    parser = build_parser()
    text = parser.format_help()
    for word in ("demo", "photos", "video", "signup", "inspect"):
        assert word in text


def test_console_script_version():
    out = subprocess.run(
        [sys.executable, "-m", "bayes.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().startswith("bayes ")
    assert main is not None

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


def test_bad_input_exits_2_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "nowhere.csv"
    assert main(["photos", "fit", "--data", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayes: error:") and "nowhere.csv" in err and "not found" in err

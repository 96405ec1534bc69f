"""``make notebooks``: notebooks executed and stored with their outputs; a failing one is left
as it was."""

import pytest

nbformat = pytest.importorskip("nbformat")

from bayes.notebooks import NotebookError, main, refresh  # noqa: E402


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a report")] + [
        nbformat.v4.new_code_cell(c) for c in cells
    ]
    nbformat.write(nb, path)
    return path


def test_refresh_stores_outputs_and_figures(tmp_path):
    path = _notebook(
        tmp_path / "report.ipynb",
        "import os\nopen('written.txt', 'w').write('x')\n"
        "print('quick' if os.environ.get('BAYES_NOTEBOOK_QUICK') else 'full')",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1], [1, 0]);",
    )
    refresh(path)
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2]
    assert code[0].outputs[0]["text"] == "full\n"
    assert "image/png" in code[1].outputs[-1]["data"]  # an inline figure, readable online
    assert all("execution" not in c.metadata for c in code)  # no timestamps to diff
    # the kernel works in a scratch folder: nothing lands beside the notebook
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.ipynb"]
    assert main(["--quick", str(path)]) == 0
    out = nbformat.read(path, as_version=4).cells[1].outputs[0]["text"]
    assert out == "quick\n"


def test_a_failing_notebook_is_left_as_it_was(tmp_path):
    path = _notebook(tmp_path / "broken.ipynb", "x = 1", "raise ValueError('boom')")
    before = path.read_bytes()
    with pytest.raises(NotebookError, match="boom"):
        refresh(path)
    assert path.read_bytes() == before
    assert main([str(path)]) == 1

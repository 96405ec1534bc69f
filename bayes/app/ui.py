"""What every page does the same way (Streamlit; imported by the pages only)."""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from bayes.io import InputError

__all__ = ["stop_on_input_error"]


@contextmanager
def stop_on_input_error():
    """Run the block; on a bad input (:class:`~bayes.io.InputError`: its message names the file,
    column and rows) show the message and stop the page there, as the command line exits 2."""
    try:
        yield
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()

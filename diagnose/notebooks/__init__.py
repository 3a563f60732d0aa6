"""Jupyter notebooks as training scripts (``diagnose NOTEBOOK.ipynb``), on our side of the process
boundary: the notebook read with nbformat, its code cells translated with IPython's own input
transformers into one Python program (with the map from program lines back to "cell N, line M").
The child runs the program (``diagnose.child.notebook``); a patch of it becomes a patched
notebook by ``diagnose.patch.notebook``. nbformat and IPython are the optional extra
``nn-diagnose[notebooks]``.
"""

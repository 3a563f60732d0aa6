"""Jupyter notebooks as training scripts (``diagnose NOTEBOOK.ipynb``), on our side of the process
boundary: the notebook read with nbformat, its code cells translated with IPython's own input
transformers into one Python program (with the map from program lines back to "cell N, line M"),
and a patch of that program turned back into a patched notebook. The child runs the program
(``diagnose.child.notebook``); nbformat and IPython are the optional extra
``nn-diagnose[notebooks]``.
"""

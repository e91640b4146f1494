"""The measured DNN catalog (``catalog.json``) and the device profiles (``devices.json``).

Data, not code: the wheel ships this folder as ``edgeopt.models`` (pyproject.toml's
package-dir); this file makes it a regular package, so ``importlib.resources`` hands out plain
paths in an editable install too. Read it with :func:`edgeopt.data.model_path`.
"""

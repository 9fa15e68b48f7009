"""Check that a built wheel ships MNIST's four files and their README (pyproject.toml's package-data).

Usage: python .ci/check_wheel.py dist/tui_ae-VERSION-py3-none-any.whl
"""

import sys
import zipfile

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SHIPPED = [*(f"tui_ae/mnist/{name}.gz" for name in NAMES), "tui_ae/mnist/README.md"]

(wheel,) = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    sizes = {info.filename: info.file_size for info in archive.infolist()}
missing = [name for name in SHIPPED if not sizes.get(name)]
if missing:
    sys.exit(f"{wheel} lacks {', '.join(missing)}: see [tool.setuptools.package-data] in pyproject.toml")
print(f"{wheel}: ships MNIST ({sum(sizes[name] for name in SHIPPED) / 1e6:.1f} MB)")

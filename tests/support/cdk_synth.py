"""Synthesise CDK apps as ``cdk synth`` does: ``python app.py`` with ``CDK_OUTDIR`` set, each in turn.

Run by ``.venv-cdk``'s Python (aws-cdk-lib is not in the test venv), standard library only:
``cdk_synth.py APP OUT [APP OUT ...]`` leaves each app's cloud assembly in its OUT.  The apps run
in one process because jsii's Node.js runtime, which takes most of a synth's seconds, starts
once; it reads ``CDK_OUTDIR`` once too, so each assembly is moved away before the next app runs.
"""

from __future__ import annotations

import os
import runpy
import shutil
import sys
import tempfile


def main(arguments: list[str]) -> None:
    """Synthesise each APP of the APP OUT pairs into its OUT."""
    os.environ["CDK_OUTDIR"] = assembly = tempfile.mkdtemp(prefix="cdk.out-")
    for app, out in zip(arguments[::2], arguments[1::2], strict=True):
        runpy.run_path(app, run_name="__main__")  # the app calls app.synth() itself
        shutil.move(assembly, out)


if __name__ == "__main__":
    main(sys.argv[1:])

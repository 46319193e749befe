"""Analyse a pair larger than memory block by block; changes across block edges come out whole.

A window of more than one block (``DetectConfig().blocks.block_size_px`` a side, plus a halo of
``block_halo_m``) is cut into blocks. Each block is read with its halo and analysed by
:func:`campwatch.detection.analysis.analyse_scenes`, with one shift, one noise level and one pair of
thresholds for the whole scene, chosen first on a sample of blocks, and the scene's
radiometric fit for a block whose own fit departs from it (a change covers most of it).
Each block answers for its core: every change it finds is cut to the core, and the parts
of one change that different blocks found (their versions of it overlap where both blocks
see it) are joined into one change again, whatever its size.

The class codes of each core go into a scratch mask window by window, and the changes that
cross a core edge are burnt in again with their final class. The changes go to scratch too as
blocks finish, and are joined and numbered there. Figures are drawn from a reduced read of both
images. Peak memory depends on the block size, not on the scene's nor on how many changes it holds.


The package: ``plan`` (blocks, cores and halos), ``job`` (what every block is analysed with, and where blocks
run), ``parameters`` (the scene's parameters from sample blocks), ``joining`` (the parts of changes joined,
numbered and burnt into the mask), ``store`` (lists in scratch files), ``run`` (:func:`analyse_blockwise`).
"""

from __future__ import annotations

from campwatch.detection.blocks.job import dask_client
from campwatch.detection.blocks.plan import Block, halo_px, needs_blocks, plan_blocks
from campwatch.detection.blocks.run import analyse_blockwise

__all__ = ["Block", "analyse_blockwise", "needs_blocks", "plan_blocks", "halo_px", "dask_client"]

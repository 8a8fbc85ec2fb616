"""The built-in local engine and the model downloader (below providers/, above models/).

Downloader entry points live in ``openclaw.local.download`` (``pull_model``, ``find_cached``,
``cached_models``, ``remove_model``) and the catalog in ``openclaw.local.catalog``. Nothing is
imported here so ``import openclaw.local`` stays free.
"""

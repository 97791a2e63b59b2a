"""The Backend facade, split by capability: each module holds one mixin of short unit-of-work methods.

Mixins use ``self.db`` (Database), ``self.ctx`` (services.Context), ``self.catalogue`` and ``self.now``.
"""

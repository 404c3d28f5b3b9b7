"""Tests of the documentation site: the reference is complete, the inventories load, the archives are sound."""

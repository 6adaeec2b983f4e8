"""Yonyou YonBIP / YonSuite open-API connector (see connector.py)."""

from ._config import YonyouConfig
from .connector import YonyouConnector

__all__ = ["YonyouConfig", "YonyouConnector"]

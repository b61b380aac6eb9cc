"""Piccolo's configuration: the engine for `DATABASE_URL` and the app registry."""

from piccolo.conf.apps import AppRegistry

from core.config import database_url, erp_home
from core.db import engine_for

DB = engine_for(database_url(erp_home()))
APP_REGISTRY = AppRegistry(apps=["core.piccolo_app"])

"""The Qlik Cloud client: the only package that speaks HTTP to a tenant (auth, rate limits, retries,
typed operations on scheduling tasks, legacy reload-tasks and apps)."""

from __future__ import annotations

from reconciler.qlik.auth import Credentials, Secret, validate_tenant_url
from reconciler.qlik.client import OnRetry, TenantClient
from reconciler.qlik.retry import RetryPolicy
from reconciler.qlik.sender import RequestCounter
from reconciler.qlik.throttle import RateLimits, Tier

__all__ = [
    "Credentials",
    "OnRetry",
    "RateLimits",
    "RequestCounter",
    "RetryPolicy",
    "Secret",
    "TenantClient",
    "Tier",
    "validate_tenant_url",
]

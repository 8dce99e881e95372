"""The demo's participants come and go: late joiners, early leavers, holidays, one withdrawal."""

from __future__ import annotations

import numpy as np

from ucnstudy.demo import DemoParams
from ucnstudy.demo.population import build_population

DEFAULT = DemoParams()  # 25 users, 21 days


def test_the_default_population_comes_and_goes() -> None:
    pop = build_population(DEFAULT)
    days = np.arange(DEFAULT.days)
    late = [u for u in pop.users if u.first_day > 0]
    early = [u for u in pop.users if u.last_day < DEFAULT.days]
    away = [u for u in pop.users if u.holiday]
    assert late and away and len(early) >= 2  # the withdrawn one leaves early too
    assert pop.withdrawn == [u.username for u in pop.users if u.withdrawn] and len(pop.withdrawn) == 1
    quitter = next(u for u in pop.users if u.withdrawn)
    assert quitter.last_day == DEFAULT.days // 2
    for device in pop.devices:
        active = pop.device_active(device, days)
        users = [pop.user(uid) for uid in device.owners]
        assert not (active & ~np.any([u.observed(days) for u in users], axis=0)).any()
        if device.owners == [quitter.id]:  # the VPN lease ends when they leave
            assert all(t is not None for _, _, t in device.leases)
    for user in away:
        lo, hi = user.holiday
        assert not user.observed(np.arange(lo, hi)).any() and user.first_day < lo < hi <= user.last_day



"""What the tests share: builders of real artifacts and channels, loopback servers, the fake
GitHub / anaconda.org / registry API, the one CLI runner, and git helpers."""

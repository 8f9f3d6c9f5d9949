"""login --remember: the password in the operating system's credential store (keyring), never in a file
of ours, so unattended work logs in again by itself; without a store, one line saying how to go on."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from converters import state
from tests.conftest import control, unwrapped
from tests.test_push import pulled, run


class MemoryKeyring(KeyringBackend):
    """A credential store that lives in this process (the machine's own is not touched by tests)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.kept.get((service, username))

    def set_password(self, service, username, password):
        self.kept[(service, username)] = password

    def delete_password(self, service, username):
        if self.kept.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def store():
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_a_remembered_login_logs_in_again_by_itself(server, client, tmp_path, store, state_home):
    r = run("login", "--api-url", server.url, "--email", server.email, "--password", server.password, "--remember")
    assert r.exit_code == 0 and "credential store" in r.output, r.output
    assert server.password not in "".join(p.read_text(errors="replace") for p in state_home.rglob("*")
                                          if p.is_file())  # never in a file of ours
    out = pulled(client, server, tmp_path)
    control(server, "expire_credentials")
    assert run("diff", out).exit_code == 0  # the key expired: logged in again from the store
    assert state.remembered_login(f"{server.url}/")[0] == server.email  # any spelling of the server
    r = run("login", "--api-url", server.url, "--forget")
    assert r.exit_code == 0 and "Forgot" in r.output and not store.kept
    control(server, "expire_credentials")
    r = run("diff", out)
    assert r.exit_code == 1 and "run `timersync login`" in r.output  # nothing kept: says how to go on


def test_remember_without_a_credential_store_says_how_to_go_on(server):
    from keyring.backends.fail import Keyring as NoStore

    before = keyring.get_keyring()
    keyring.set_keyring(NoStore())
    try:
        r = run("login", "--api-url", server.url, "--email", server.email, "--password", server.password,
                "--remember")
    finally:
        keyring.set_keyring(before)
    assert r.exit_code == 1 and unwrapped(r.output).count("\n") <= 2, r.output
    assert "no credential store" in r.output and "RACEENTRY_PASSWORD" in r.output

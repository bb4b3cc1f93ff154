"""People: teams, users with roles and team membership, machine bearer tokens.

The web app and the ``jingzhi user``/``token`` commands use these; passwords are kept only as salted hashes
(werkzeug.security) and tokens only as their SHA-256. Plain dicts in and out, like the rest of the engine.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from . import clock
from .exceptions import Conflict, FormInvalid, Message, NotFound
from .models import ApiToken, Membership, Team, User
from .deploy.roster import LEAD_SUFFIX

#: werkzeug's password hashing method (salted scrypt). Tests switch to a cheap one; never do so in production.
PASSWORD_METHOD = "scrypt"
ROLES = ("officer", "team_lead", "dispatcher", "designer", "admin")
#: Roles that see every case and the district dashboard.
DISTRICT_ROLES = frozenset({"dispatcher", "admin"})

_teams, _users, _members, _tokens = Team.__table__, User.__table__, Membership.__table__, ApiToken.__table__


def seed_teams(store, teams: list[dict], update_existing: bool = True) -> int:
    """Insert or update the roster (the ``teams`` list of seed/teams.json). Returns how many were written.

    ``update_existing=False`` only adds the teams the table lacks, keeping names changed in the web app (``jingzhi
    setup`` runs on every start). Whether a team is retired is the web app's decision: loading never changes it."""
    written = 0
    with store.begin() as connection:
        known = set(connection.scalars(select(_teams.c.code)))
        for team in teams:
            values = {"name_zh": team.get("name_zh") or team["code"], "name_en": team.get("name_en") or team["code"],
                      "kind": team.get("kind") or "other"}
            if team["code"] not in known:
                connection.execute(insert(_teams).values(code=team["code"], retired=False, **values))
            elif update_existing:
                connection.execute(update(_teams).where(_teams.c.code == team["code"]).values(**values))
            else:
                continue
            written += 1
    return written


def teams(connection, retired: bool = False) -> list[dict]:
    """The teams by code: the active ones (what forms offer), with ``retired=True`` the retired ones too."""
    found = select(_teams).order_by(_teams.c.code)
    if not retired:
        found = found.where(_teams.c.retired.is_(False))
    return [dict(r) for r in connection.execute(found).mappings()]


def roster(connection):
    """The codes of the district's active teams (empty before ``jingzhi teams load``), as a ``roster.Roster`` that
    also knows the retired ones, so deploying a diagram that routes to one is refused as such."""
    from .deploy.roster import Roster

    rows = connection.execute(select(_teams.c.code, _teams.c.retired)).all()
    return Roster({code for code, retired in rows if not retired}, {code for code, retired in rows if retired})


def _check(roles, team_codes, connection, kept=()) -> None:
    """Roles must be known; teams must exist and be active, except retired ones the user belongs to already
    (``kept``): their history stays."""
    unknown_roles = sorted(set(roles) - set(ROLES))
    if unknown_roles:
        raise FormInvalid(Message("unknown role(s): {roles}", roles=", ".join(unknown_roles)),
                          {"roles": Message("one of {roles}", roles=", ".join(ROLES))})
    rows = dict(connection.execute(select(_teams.c.code, _teams.c.retired)).all())
    missing = sorted(set(team_codes) - set(rows))
    if missing:
        raise FormInvalid(Message("unknown team(s): {teams}", teams=", ".join(missing)),
                          {"teams": Message("seed the teams first")})
    retired = sorted(code for code in set(team_codes) - set(kept) if rows[code])
    if retired:
        raise FormInvalid(Message("retired team(s): {teams}", teams=", ".join(retired)),
                          {"teams": Message("a retired team takes no new members")})


def add_user(store, username: str, password: str, roles: list[str], team_codes: list[str],
             display_name: str | None = None) -> dict:
    username = (username or "").strip()
    if not username or len(password or "") < 8:
        raise FormInvalid(Message("a user needs a name and a password of at least {length} characters", length=8),
                          {"username": Message("required"),
                           "password": Message("at least {length} characters", length=8)})
    if len(username) > 120 or len(display_name or "") > 200:
        raise FormInvalid(Message("a user name has at most {name} characters, a display name at most {display}",
                                  name=120, display=200),
                          {"username": Message("at most {length} characters", length=120),
                           "display_name": Message("at most {length} characters", length=200)})
    with store.begin() as connection:
        _check(roles, team_codes, connection)
        if connection.scalar(select(_users.c.id).where(_users.c.username == username)) is not None:
            raise Conflict(Message("user {username} exists already", username=username))
        user_id = connection.execute(insert(_users).values(
            username=username, display_name=display_name or username,
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            roles=sorted(set(roles)), active=True, created_at=clock.now())).inserted_primary_key[0]
        for code in sorted(set(team_codes)):
            connection.execute(insert(_members).values(user_id=user_id, team_code=code))
    return user(store, user_id)


def update_user(store, user_id: int, roles: list[str] | None = None, team_codes: list[str] | None = None,
                active: bool | None = None, password: str | None = None, display_name: str | None = None) -> dict:
    if password and len(password) < 8:
        raise FormInvalid(Message("a password has at least {length} characters", length=8),
                          {"password": Message("at least {length} characters", length=8)})
    if display_name is not None and not 0 < len(display_name.strip()) <= 200:
        raise FormInvalid(Message("a display name has 1 to {length} characters", length=200),
                          {"display_name": Message("1 to {length} characters", length=200)})
    with store.begin() as connection:
        kept = connection.scalars(select(_members.c.team_code).where(_members.c.user_id == user_id)).all()
        _check(roles or [], team_codes or [], connection, kept)
        values = {}
        if display_name is not None:
            values["display_name"] = display_name.strip()
        if roles is not None:
            values["roles"] = sorted(set(roles))
        if active is not None:
            values["active"] = active
        if password:
            values["password_hash"] = generate_password_hash(password, method=PASSWORD_METHOD)
            values["session_epoch"] = _users.c.session_epoch + 1  # a new password ends every session of the old one
        if values:
            if connection.execute(update(_users).where(_users.c.id == user_id).values(**values)).rowcount != 1:
                raise NotFound(Message("user {user} does not exist", user=user_id))
        if team_codes is not None:
            connection.execute(delete(_members).where(_members.c.user_id == user_id))
            for code in sorted(set(team_codes)):
                connection.execute(insert(_members).values(user_id=user_id, team_code=code))
    return user(store, user_id)


def end_sessions(store, user_id: int) -> int:
    """End every web session of the user (logout, a stolen cookie): sessions carry the epoch they were opened in,
    and one older than the user's is refused. Returns the new epoch."""
    with store.begin() as connection:
        epoch = connection.execute(update(_users).where(_users.c.id == user_id).values(
            session_epoch=_users.c.session_epoch + 1).returning(_users.c.session_epoch)).scalar()
        if epoch is None:
            raise NotFound(Message("user {user} does not exist", user=user_id))
        return epoch


def _with_teams(connection, row) -> dict:
    found = dict(row)
    found.pop("password_hash", None)
    found["teams"] = sorted(connection.scalars(select(_members.c.team_code).where(_members.c.user_id == row["id"])))
    found["inbox_teams"] = inbox_teams(found)
    return found


def user(store, user_id: int) -> dict:
    with store.read() as connection:
        row = connection.execute(select(_users).where(_users.c.id == user_id)).mappings().one_or_none()
        if row is None:
            raise NotFound(Message("user {user} does not exist", user=user_id))
        return _with_teams(connection, row)


def users(store) -> list[dict]:
    with store.read() as connection:
        return [_with_teams(connection, row) for row in
                connection.execute(select(_users).order_by(_users.c.username)).mappings()]


def user_search(text: str | None = None, team: str | None = None):
    """The select of users whose name or display name contains ``text`` and who belong to ``team`` (either may be
    None), by user name: the admin page pages it."""
    found = select(User).order_by(User.username)
    if text:
        found = found.where(User.username.contains(text, autoescape=True)
                            | User.display_name.contains(text, autoescape=True))
    if team:
        found = found.where(User.id.in_(select(_members.c.user_id).where(_members.c.team_code == team)))
    return found


def described(store, found: list[User]) -> list[dict]:
    """Users of a page as the admin page shows them: columns (no password hash), teams and inbox teams."""
    with store.read() as connection:       # the page's rows are loaded already: only their teams are read
        return [_with_teams(connection, {column.key: getattr(user, column.key) for column in _users.columns})
                for user in found]


def display_names(connection, usernames) -> dict[str, str]:
    """Username -> display name of those of ``usernames`` that are users (an audit page's actors)."""
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    return dict(connection.execute(select(_users.c.username, _users.c.display_name)
                                   .where(_users.c.username.in_(wanted))).all())


def members(store, team_codes: list[str]) -> list[str]:
    """User names of the active members of these teams."""
    with store.read() as connection:
        return sorted(set(connection.scalars(select(_users.c.username).join(
            _members, _members.c.user_id == _users.c.id).where(
            _members.c.team_code.in_(team_codes), _users.c.active.is_(True)))))


def authenticate(store, username: str, password: str) -> dict | None:
    """The active user with this name and password, or None (same answer for a wrong name or password)."""
    with store.read() as connection:
        row = connection.execute(select(_users).where(_users.c.username == (username or "").strip())
                                 ).mappings().one_or_none()
        if row is None or not row["active"] or not check_password_hash(row["password_hash"], password or ""):
            return None
        return _with_teams(connection, row)


def inbox_teams(found: dict) -> list[str]:
    """The inboxes a user works: their teams, and their teams' lead inboxes when they are a team lead."""
    codes = list(found["teams"])
    if "team_lead" in found["roles"]:
        codes += [code + LEAD_SUFFIX for code in found["teams"]]
    return codes


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store, username: str, name: str = "api") -> str:
    """A new bearer token for ``username``; the plain token is returned once and never stored."""
    token = "jz_" + secrets.token_urlsafe(32)
    with store.begin() as connection:
        user_id = connection.scalar(select(_users.c.id).where(_users.c.username == username))
        if user_id is None:
            raise NotFound(Message("user {user} does not exist", user=username))
        connection.execute(insert(_tokens).values(user_id=user_id, name=name, token_hash=_digest(token),
                                                  created_at=clock.now(), revoked=False))
    return token


def user_for_token(store, token: str) -> dict | None:
    with store.read() as connection:
        row = connection.execute(select(_users).join(_tokens, _tokens.c.user_id == _users.c.id).where(
            _tokens.c.token_hash == _digest(token or ""), _tokens.c.revoked.is_(False),
            _users.c.active.is_(True))).mappings().one_or_none()
        return _with_teams(connection, row) if row is not None else None

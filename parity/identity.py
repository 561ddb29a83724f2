#!/usr/bin/env python3
"""Identity parity: send the same Keystone v3 requests to the real Keystone
(the oracle in ../shared/oracle/keystone, keystone==30.0.0) and to porthole's
builtin identity (/identity), and compare the answers.  Python 3 standard
library only.

    python3 parity/parity.py --section identity KEYSTONE_INFO PORTHOLE_BIN \
        [--start-oracle [--oracle-port N]] [--report FILE] [--markdown FILE]
        [--only SUBSTRING] [--keep-config FILE]
    (or: python3 parity/identity.py KEYSTONE_INFO PORTHOLE_BIN ...)

KEYSTONE_INFO is the info file of keystone_oracle.py (--info-file).  The
script
  1. reads it (with --start-oracle: starts a private oracle first, its
     compute endpoints pointing at the porthole port chosen for this run);
  2. writes a porthole config whose domain, projects, users (same ids, names
     and passwords, no default project) and role assignments mirror the
     oracle's world, and starts PORTHOLE_BIN twice with it
     (`serve --config F --store memory`): the main instance, and a second one
     with `token_expiration = 3` that only serves the expired-token cases
     (the oracle has a ready expired token, porthole needs to wait for one);
  3. sends every case to both: Keystone paths (/, /v3, /v3/auth/tokens) as
     they are to the oracle and under /identity to porthole; tokens are
     referred to by name ({tok:demo_p}) and each side uses its own;
  4. normalises what must differ (ids of users, projects, roles, services and
     endpoints -> {user:demo} ..., token values -> {token:NAME}, audit ids ->
     {audit:NAME}, timestamps -> their shape, request ids, base URLs ->
     <identity> / <compute>) and compares status, headers (X-Subject-Token,
     Vary, X-OpenStack-Request-Id, Allow, WWW-Authenticate, Content-Type,
     Location, HEAD's Content-Length), bodies (roles and catalog compared as
     sets), key order, JSON layout and a few derived facts (token lifetime,
     expiry inherited from the parent token, secrets echoed);
  5. prints one line per case and a summary, writes a JSON report and
     (--markdown) every exchange side by side.

Exit status: 0 whenever the comparison ran, 2 when it could not run.
"""

import argparse
import atexit
import datetime
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_VENV_PY = os.path.join(
    os.environ.get('KEYSTONE_ORACLE_HOME',
                   os.path.expanduser('~/.cache/keystone-oracle')),
    'venv', 'bin', 'python')
ORACLE_SCRIPT = os.path.normpath(os.path.join(
    HERE, '..', '..', 'shared', 'oracle', 'keystone', 'keystone_oracle.py'))

# Cases whose difference is deliberate: id -> (code, reason, the kinds of
# difference allowed).  They print EXPECTED instead of DIFF when every
# difference found is of an allowed kind (anything else is still a DIFF).
# The README's table of deliberate differences lists the same.
_METHODS = ('porthole verifies only password and token: its 401 lists those, '
            'not the methods Keystone has plugins for')
_MASKED = ('a password or token is never repeated: porthole writes \'***\' '
           'where jsonschema\'s message shows the password (or the token '
           'method\'s token id) Keystone received')
EXPECTED_DIFFERENCES = {
    'F18-unknown-method': ('methods', _METHODS, ('body .error.identity.methods',)),
    'F20-password-and-unknown': ('methods', _METHODS, ('body .error.identity.methods',)),
    'F20b-password-and-totp': ('methods', _METHODS, ('body .error.identity.methods',)),
    'F29-password-not-string': ('masked', _MASKED, ('body .error.message',)),
    'T16-token-id-not-string': ('masked', _MASKED, ('body .error.message',)),
    'M06-identity-no-methods': ('masked', _MASKED, (
        'body .error.message', 'body echoes a token or password: True vs False')),
}


# porthole's catalog also lists its image API (a minimal Glance, type
# `image`) and its network API (type `network`); the Keystone oracle's
# catalog has identity and compute only.
_PORTHOLE_ONLY_TYPES = ('image', 'network')
_IMAGE_SERVICE = 'catalog: porthole also lists its image and network services'
_IMAGE = ('the catalog also names porthole\'s image API (type image, service '
          'glance) and network API (type network, service neutron), which the '
          'oracle\'s catalog does not have', _IMAGE_SERVICE)


def without_image_service(js):
    """`js` without catalog entries of type `image`, and whether it had one."""
    found = False
    if isinstance(js, dict):
        js = dict(js)
        for holder in ('token', None):
            box = js.get(holder) if holder else js
            if isinstance(box, dict) and isinstance(box.get('catalog'), list):
                kept = [svc for svc in box['catalog']
                        if not (isinstance(svc, dict)
                                and svc.get('type') in _PORTHOLE_ONLY_TYPES)]
                if len(kept) != len(box['catalog']):
                    found = True
                    box = dict(box, catalog=kept)
                    if holder:
                        js[holder] = box
                    else:
                        js = box
    return js, found


def expected_difference(case_id, reasons):
    """The deliberate difference covering every reason, if any."""
    if reasons and all(r.startswith(_IMAGE_SERVICE) for r in reasons):
        return ('image',) + _IMAGE
    exp = EXPECTED_DIFFERENCES.get(case_id)
    if exp and reasons and all(r.startswith(exp[2]) for r in reasons):
        return exp
    return None

INBOUND_REQ = 'req-11111111-2222-3333-4444-555555555555'
SHORT_EXPIRATION = 3     # token_expiration of the second porthole instance

REQ_RE = re.compile(r'req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                    r'[0-9a-f]{12}')
TS_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$')
HEX32_RE = re.compile(r'\b[0-9a-f]{32}\b')
FERNET_RE = re.compile(r'gAAAAA[A-Za-z0-9_\-=]{20,}')
HEX64_RE = re.compile(r'\b[0-9a-f]{64}\b')

CHECKED_HEADERS = ('x-subject-token', 'vary', 'x-openstack-request-id',
                   'allow', 'www-authenticate', 'content-type', 'location')


class CannotRun(Exception):
    pass


# --------------------------------------------------------------------------
# HTTP and processes
def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_call(port, method, path, headers, body, timeout=60):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None:
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheaders(), data
    finally:
        conn.close()


CHILDREN = []
OWN_FILES = []


def _stop_children():
    for path in OWN_FILES:
        try:
            os.unlink(path)
        except OSError:
            pass
    for proc in CHILDREN:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except OSError:
                    pass


def _pid_alive(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            return not any(l.startswith('State:') and 'Z' in l for l in f)
    except (FileNotFoundError, TypeError):
        return False


def start_oracle(info_path, port, python, script, logdir, compute_url):
    if os.path.exists(info_path):
        try:
            with open(info_path) as f:
                old = json.load(f)
        except ValueError:
            old = {}
        if _pid_alive(old.get('pid')):
            raise CannotRun('%s belongs to a running oracle (pid %s); give '
                            '--start-oracle another info-file path'
                            % (info_path, old.get('pid')))
        os.unlink(info_path)
    if not os.path.exists(python):
        raise CannotRun('no %s: run ../shared/oracle/keystone/setup.sh first' % python)
    err = open(os.path.join(logdir, 'oracle.err'), 'w')
    # bcrypt cost 4 instead of 12: same answers, a password check in ~65 ms.
    proc = subprocess.Popen(
        [python, script, '--port', str(port), '--info-file', info_path,
         '--compute-url', compute_url, '--password-hash-rounds', '4'],
        stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
        cwd=logdir, start_new_session=True)
    CHILDREN.append(proc)
    OWN_FILES.append(info_path)
    for _ in range(600):
        if proc.poll() is not None:
            raise CannotRun('oracle exited (%s), see %s/oracle.err'
                            % (proc.returncode, logdir))
        if os.path.exists(info_path):
            try:
                with open(info_path) as f:
                    W = json.load(f)
                if W.get('pid') == proc.pid:
                    return W
            except ValueError:
                pass
        time.sleep(0.5)
    raise CannotRun('oracle did not start within 300 s')


def start_porthole(binary, config_path, port, logdir, name):
    logpath = os.path.join(logdir, '%s.log' % name)
    log = open(logpath, 'w')
    proc = subprocess.Popen(
        [binary, 'serve', '--config', config_path, '--store', 'memory',
         '--auth', 'builtin', '--listen', '127.0.0.1:%d' % port],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        cwd=logdir, start_new_session=True)
    CHILDREN.append(proc)
    for _ in range(300):
        if proc.poll() is not None:
            with open(logpath) as f:
                tail = f.read()[-2000:]
            raise CannotRun('porthole (%s) exited with %s:\n%s'
                            % (name, proc.returncode, tail))
        try:
            http_call(port, 'GET', '/healthz', [], None, timeout=2)
            return proc
        except OSError:
            time.sleep(0.1)
    raise CannotRun('porthole (%s) did not answer within 30 s' % name)


def toml_str(s):
    return json.dumps(s)


def porthole_config(W, expiration):
    """A porthole config mirroring the oracle's world by name (and id)."""
    dom = W['domain']
    lines = ['# Generated by parity/identity.py from the Keystone oracle info '
             '(pid %s): same domain, projects, users (ids, names, passwords, '
             'no default project) and role assignments (projects, '
             'domains, the system).'
             % W.get('pid'),
             'auth = "builtin"', '', '[identity]',
             'token_expiration = %d' % expiration,
             'region = %s' % toml_str(W.get('region', 'RegionOne')), '',
             '[[identity.domains]]', 'id = %s' % toml_str(dom['id']),
             'name = %s' % toml_str(dom['name']), '']
    for name, p in W['projects'].items():
        lines += ['[[identity.projects]]', 'id = %s' % toml_str(p['id']),
                  'name = %s' % toml_str(name),
                  'domain = %s' % toml_str(dom['id']), '']
    for name, u in W['users'].items():
        lines += ['[[identity.users]]', 'id = %s' % toml_str(u['id']),
                  'name = %s' % toml_str(name),
                  'password = %s' % toml_str(u['password']),
                  'domain = %s' % toml_str(u['domain']['id']), '']
    for name, u in W['users'].items():
        for project, roles in u['roles'].items():
            lines += ['[[identity.assignments]]', 'user = %s' % toml_str(name),
                      'project = %s' % toml_str(project),
                      'roles = [%s]' % ', '.join(toml_str(r) for r in roles), '']
    for name, u in W['users'].items():
        for d, roles in u.get('domain_roles', {}).items():
            lines += ['[[identity.assignments]]', 'user = %s' % toml_str(name),
                      'domain = %s' % toml_str(d),
                      'roles = [%s]' % ', '.join(toml_str(r) for r in roles), '']
        if u.get('system_roles'):
            lines += ['[[identity.assignments]]', 'user = %s' % toml_str(name),
                      'system = "all"',
                      'roles = [%s]' % ', '.join(toml_str(r)
                                                for r in u['system_roles']), '']
    return '\n'.join(lines) + '\n'


# --------------------------------------------------------------------------
# Sides
class Side:
    def __init__(self, name, port, prefix, W, repl, short_port=None):
        self.name = name
        self.port = port
        self.prefix = prefix          # '' (oracle) or '/identity' (porthole)
        self.short_port = short_port  # porthole: the short-expiry instance
        self.tokens = {}              # name -> token value
        self.token_info = {}          # name -> token body (dict)
        self.short_tokens = {}        # porthole short instance: name -> (value, time)
        self.audit = {}               # audit id -> token name
        self.ids = {}                 # id -> symbol
        self.symbols = {}             # symbol -> id (conflict detection)
        self.conflicts = []
        self.repl = repl              # [(literal, replacement)], longest first
        self.W = W
        for n, p in W['projects'].items():
            self.learn(p['id'], '{project:%s}' % n)
        for n, u in W['users'].items():
            self.learn(u['id'], '{user:%s}' % n)

    def learn(self, ident, symbol):
        if not isinstance(ident, str) or not ident:
            return
        old = self.symbols.get(symbol)
        if old is not None and old != ident:
            self.conflicts.append('%s had id %s, now %s' % (symbol, old, ident))
        self.symbols[symbol] = ident
        self.ids.setdefault(ident, symbol)

    def path(self, case):
        p = case.get('paths', {}).get(self.name)
        if p is not None:
            return p
        path = case['path']
        if not self.prefix:
            return path
        return self.prefix + ('' if path == '/' else path)


def learn_from_body(side, js):
    """Learn role, service and endpoint ids from a token or catalog body."""
    if not isinstance(js, dict):
        return
    tok = js.get('token') if isinstance(js.get('token'), dict) else js
    for r in tok.get('roles') or []:
        if isinstance(r, dict) and 'name' in r:
            side.learn(r.get('id'), '{role:%s}' % r['name'])
    for s in tok.get('catalog') or []:
        if not isinstance(s, dict):
            continue
        side.learn(s.get('id'), '{service:%s}' % s.get('type'))
        for e in s.get('endpoints') or []:
            if isinstance(e, dict):
                side.learn(e.get('id'), '{endpoint:%s:%s}'
                           % (s.get('type'), e.get('interface')))


# --------------------------------------------------------------------------
# Normalisation
def ts_shape(s):
    m = TS_RE.match(s)
    frac = m.group(1) or ''
    if frac:
        frac = '.' + ('0' * (len(frac) - 1) if set(frac[1:]) == {'0'}
                      else 'f' * (len(frac) - 1))
    return '<time%s%s>' % (frac, m.group(2) or '')


def norm_str(side, s, key=None):
    for lit, rep in side.repl:
        s = s.replace(lit, rep)
    tokens = sorted(side.tokens.items(), key=lambda kv: -len(kv[1]))
    for name, value in tokens:
        if value and value in s:
            s = s.replace(value, '{token:%s}' % name)
    for name, (value, _t) in side.short_tokens.items():
        if value and value in s:
            s = s.replace(value, '{token:%s}' % name)
    if s in side.audit:
        return '{audit:%s}' % side.audit[s]
    if key == 'audit_ids':
        return '{audit:?}'
    if TS_RE.match(s) and key != 'updated':   # version documents: literal
        return ts_shape(s)
    s = REQ_RE.sub('req-<uuid>', s)
    s = FERNET_RE.sub('<fernet-token?>', s)
    s = HEX64_RE.sub('<hex64-token?>', s)
    if s in side.ids:
        return side.ids[s]
    s = HEX32_RE.sub(lambda m: side.ids.get(m.group(0), '<id?>'), s)
    return s


def norm(side, v, key=None):
    if isinstance(v, dict):
        return {k: norm(side, x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(side, x, key) for x in v]
    if isinstance(v, str):
        return norm_str(side, v, key)
    return v


def canonical(v):
    """Order-insensitive where Keystone's order is not defined: roles by
    name, catalog by type, endpoints by interface."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = canonical(x)
            if k == 'methods' and isinstance(x, list):
                x = sorted(x, key=str)   # set order on issue (see facts())
            elif k == 'roles' and isinstance(x, list):
                x = sorted(x, key=lambda r: json.dumps(r, sort_keys=True))
            elif k == 'catalog' and isinstance(x, list):
                x = sorted(x, key=lambda s: (str(s.get('type')) if isinstance(s, dict) else '',
                                             json.dumps(s, sort_keys=True)))
            elif k == 'endpoints' and isinstance(x, list):
                x = sorted(x, key=lambda e: (str(e.get('interface')) if isinstance(e, dict) else '',
                                             json.dumps(e, sort_keys=True)))
            out[k] = x
        return out
    if isinstance(v, list):
        return [canonical(x) for x in v]
    return v


def parse_json(data):
    try:
        return json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        return None


def json_layout(data, js):
    if js is None or not data:
        return None
    text = data.decode('utf-8', 'replace')
    nl = text.endswith('\n')
    body = text.rstrip('\n')
    if body == json.dumps(js, separators=(',', ':'), ensure_ascii=False) or \
            body == json.dumps(js, separators=(',', ':')):
        style = 'compact'
    elif body == json.dumps(js, ensure_ascii=False) or body == json.dumps(js):
        style = 'python-default (", " and ": ")'
    else:
        style = 'other'
    return style + (' + trailing newline' if nl else '')


def key_orders(js):
    out = {}
    if isinstance(js, dict):
        for top, inner in js.items():
            if isinstance(inner, dict):
                out[top] = list(inner.keys())
                for k2, v2 in inner.items():
                    if k2 in ('user', 'project', 'domain', 'error') and isinstance(v2, dict):
                        out['%s.%s' % (top, k2)] = list(v2.keys())
                    if k2 == 'catalog' and isinstance(v2, list) and v2 and isinstance(v2[0], dict):
                        out['%s.catalog[]' % top] = list(v2[0].keys())
                        eps = v2[0].get('endpoints') or []
                        if eps and isinstance(eps[0], dict):
                            out['%s.catalog[].endpoints[]' % top] = list(eps[0].keys())
                    if k2 == 'roles' and isinstance(v2, list) and v2 and isinstance(v2[0], dict):
                        out['%s.roles[]' % top] = list(v2[0].keys())
        out['<top>'] = list(js.keys())
    return out


def header_map(headers):
    out = {}
    for k, v in headers:
        out.setdefault(k.lower(), []).append(v)
    return out


def norm_headers(side, case, status, headers, method):
    h = header_map(headers)
    out = {}
    for name in CHECKED_HEADERS:
        vals = h.get(name)
        if vals is None:
            out[name] = None
            continue
        if name == 'vary':
            out[name] = sorted({x.strip() for v in vals for x in v.split(',') if x.strip()})
        elif name == 'allow':
            out[name] = sorted({x.strip() for v in vals for x in v.split(',') if x.strip()})
        elif name == 'x-openstack-request-id':
            out[name] = ['req-<uuid>' if REQ_RE.fullmatch(v) else 'other: ' + v for v in vals]
        elif name == 'x-subject-token':
            # a token named by an earlier case, else a new one (201)
            res = []
            for v in vals:
                n = norm_str(side, v)
                res.append(n if n.startswith('{token:') or n.startswith('missing-token')
                           else ('<new token>' if status == 201 else '<other: %s>' % n))
            out[name] = res
        else:
            out[name] = [norm_str(side, v) for v in vals]
    if method == 'HEAD':
        cl = h.get('content-length')
        out['content-length (HEAD)'] = (
            'absent' if cl is None else ('0' if cl == ['0'] else 'non-zero'))
    return out


def facts(side, case, js, data, W):
    """Derived facts compared between the sides."""
    f = {}
    secrets = [v for v in side.tokens.values() if v]
    secrets += [v for v, _t in side.short_tokens.values() if v]
    secrets += [u['password'] for u in W['users'].values()]
    for hdr_token in case.get('_sent_tokens', {}).get(side.name, []):
        if not hdr_token.startswith('missing-token-'):
            secrets.append(hdr_token)
    text = data.decode('utf-8', 'replace') if data else ''
    f['body echoes a token or password'] = any(s in text for s in secrets if len(s) >= 8)
    if any(k.lower() == 'x-openstack-request-id' for k, _v in case['headers']):
        f['inbound request id echoed'] = INBOUND_REQ in (side.last_headers.get('x-openstack-request-id') or [])
    tok = js.get('token') if isinstance(js, dict) else None
    if isinstance(tok, dict) and case['method'] == 'POST' and not case.get('parent'):
        try:
            exp = parse_ts(tok['expires_at'])
            iss = parse_ts(tok['issued_at'])
            life = (exp - iss).total_seconds()
            exp_cfg = SHORT_EXPIRATION if (case.get('short') and side.name == 'porthole') \
                else W.get('token_expiration', 3600)
            f['lifetime (expires_at - issued_at)'] = (
                'full token_expiration' if abs(life - exp_cfg) <= 1.5 else
                ('shorter' if life < exp_cfg else 'longer'))
        except (KeyError, TypeError, ValueError):
            f['lifetime (expires_at - issued_at)'] = 'n/a'
    if isinstance(tok, dict):
        if case['method'] == 'GET' and isinstance(tok.get('methods'), list):
            # Keystone's validate lists methods in a fixed order (fernet bit
            # order, highest first); on issue the order is a Python set's.
            f['methods, in order (validate)'] = tok['methods']
        parent = case.get('parent')
        if parent:
            pinfo = side.token_info.get(parent)
            f['expires_at == parent token\'s expires_at'] = (
                None if not pinfo else tok.get('expires_at') == pinfo.get('expires_at'))
    return f


def parse_ts(s):
    s = s.rstrip('Z')
    if '.' in s:
        return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%f')
    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S')


def deep_diff(a, b, path, out, limit=8):
    if len(out) >= limit:
        return
    if type(a) is not type(b):
        out.append('%s: %s vs %s' % (path or '<body>', short(a), short(b)))
        return
    if isinstance(a, dict):
        for k in a:
            if k not in b:
                out.append('%s.%s: only in oracle (%s)' % (path, k, short(a[k])))
            else:
                deep_diff(a[k], b[k], '%s.%s' % (path, k), out, limit)
        for k in b:
            if k not in a:
                out.append('%s.%s: only in porthole (%s)' % (path, k, short(b[k])))
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append('%s: %d vs %d items: %s vs %s'
                       % (path, len(a), len(b), short(a), short(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            deep_diff(x, y, '%s[%d]' % (path, i), out, limit)
    elif a != b:
        out.append('%s: %s vs %s' % (path or '<body>', short(a), short(b)))


def short(v, n=140):
    s = json.dumps(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + '...'


def compare(o, p):
    """o, p: per-side results.  Returns reasons."""
    reasons = []
    if o['status'] != p['status']:
        reasons.append('status %s vs %s' % (o['status'], p['status']))
    for name in list(CHECKED_HEADERS) + ['content-length (HEAD)']:
        ho, hp = o['headers'].get(name), p['headers'].get(name)
        if ho != hp:
            reasons.append('header %s: %s vs %s' % (name, short(ho), short(hp)))
    jo, jp = o['canonical'], p['canonical']
    jp, has_image = without_image_service(jp)
    if has_image:
        reasons.append(_IMAGE_SERVICE)
    if jo is not None or jp is not None:
        if jo is None or jp is None:
            reasons.append('body: %s vs %s' % (
                'JSON' if jo is not None else short(o['text'], 100),
                'JSON' if jp is not None else short(p['text'], 100)))
        else:
            d = []
            deep_diff(jo, jp, '', d)
            reasons += ['body %s' % x for x in d]
            for k, ko in o['keyorder'].items():
                kp = p['keyorder'].get(k)
                if kp is not None and ko != kp and sorted(ko) == sorted(kp):
                    reasons.append('key order of %s: %s vs %s' % (k, ko, kp))
    elif o['text'] != p['text']:
        reasons.append('body text: %s vs %s' % (short(o['text'], 100), short(p['text'], 100)))
    if o['layout'] != p['layout'] and o['layout'] and p['layout']:
        reasons.append('JSON layout: %s vs %s' % (o['layout'], p['layout']))
    for k, vo in o['facts'].items():
        vp = p['facts'].get(k)
        if vo != vp:
            reasons.append('%s: %s vs %s' % (k, vo, vp))
    for k in p['facts']:
        if k not in o['facts'] and p['facts'][k]:
            reasons.append('%s: - vs %s' % (k, p['facts'][k]))
    for n in p.get('notes', []) + o.get('notes', []):
        reasons.append(n)
    return reasons


# --------------------------------------------------------------------------
# Cases
def pw_body(W, user, scope=None, password=None, by_id=False, domain='name',
            methods=None):
    u = W['users'][user]
    ref = {'id': u['id']} if by_id else {
        'name': user, 'domain': ({'name': u['domain']['name']} if domain == 'name'
                                 else {'id': u['domain']['id']})}
    ref['password'] = u['password'] if password is None else password
    auth = {'identity': {'methods': methods or ['password'],
                         'password': {'user': ref}}}
    if scope is not None:
        auth['scope'] = scope
    return {'auth': auth}


def tok_body(name, scope=None):
    auth = {'identity': {'methods': ['token'], 'token': {'id': '{tok:%s}' % name}}}
    if scope is not None:
        auth['scope'] = scope
    return {'auth': auth}


def by_name(project):
    return {'project': {'name': project, 'domain': {'name': 'Default'}}}


def by_id(W, project):
    return {'project': {'id': W['projects'][project]['id']}}


def auth_h(tok, subject=None):
    h = []
    if tok is not None:
        h.append(('X-Auth-Token', '{tok:%s}' % tok))
    if subject is not None:
        h.append(('X-Subject-Token', '{tok:%s}' % subject))
    return h


def build_cases(W):
    C = []

    def add(cid, title, method, path, **kw):
        c = {'id': cid, 'title': title, 'method': method, 'path': path,
             'headers': kw.pop('headers', []), 'body': kw.pop('body', None)}
        c.update(kw)
        C.append(c)

    T = '/v3/auth/tokens'
    # ---- version documents
    add('D01-root', 'versions: GET / (porthole /identity)', 'GET', '/')
    add('D02-root-slash', 'versions: GET / (porthole /identity/)', 'GET', '/',
        paths={'porthole': '/identity/'})
    add('D03-root-head', 'versions: HEAD /', 'HEAD', '/')
    add('D04-root-post', 'versions: POST / (Keystone: 405)', 'POST', '/', raw=b'')
    add('D05-v3', 'version: GET /v3', 'GET', '/v3')
    add('D06-v3-slash', 'version: GET /v3/', 'GET', '/v3/')
    add('D07-v3-head', 'version: HEAD /v3', 'HEAD', '/v3')
    add('D08-unknown-path', 'unknown path GET /v3/nope', 'GET', '/v3/nope')
    add('D10-inbound-request-id', 'GET /v3 with an inbound X-OpenStack-Request-Id (Keystone: not echoed)',
        'GET', '/v3', headers=[('X-OpenStack-Request-Id', INBOUND_REQ)])
    add('D09-auth-catalog-noauth', 'GET /v3/auth/catalog without a token',
        'GET', '/v3/auth/catalog')

    # ---- issuing: password
    add('I01-pw-project-by-name', 'password (user by name+domain name), project demo by name+domain name',
        'POST', T, body=pw_body(W, 'demo', by_name('demo')), save='demo_p')
    add('I02-pw-project-by-id', 'password viewer, project demo by id',
        'POST', T, body=pw_body(W, 'viewer', by_id(W, 'demo')), save='viewer_p')
    add('I03-pw-admin-project-admin', 'password admin, project admin by name',
        'POST', T, body=pw_body(W, 'admin', by_name('admin')), save='admin_p')
    add('I04-pw-userid-domainid-nocatalog', 'password, user by id, project demo by name + domain id, ?nocatalog',
        'POST', T + '?nocatalog',
        body=pw_body(W, 'admin', {'project': {'name': 'demo', 'domain': {'id': 'default'}}}, by_id=True),
        save='admin_demo')
    add('I05-pw-nocatalog-false', 'password demo project demo, ?nocatalog=false (any value: no catalog)',
        'POST', T + '?nocatalog=false', body=pw_body(W, 'demo', by_name('demo')))
    add('I06-pw-user-domain-id', 'password, user by name + domain id, project by id',
        'POST', T, body=pw_body(W, 'demo', by_id(W, 'demo'), domain='id'))
    add('I07-pw-unscoped-no-scope', 'password demo, no scope, no default project: unscoped',
        'POST', T, body=pw_body(W, 'demo'), save='demo_u')
    add('I08-pw-scope-unscoped-string', 'password demo, "scope": "unscoped"',
        'POST', T, body=pw_body(W, 'demo', 'unscoped'), save='demo_u2')
    add('I09-pw-scope-unscoped-object', 'password demo, "scope": {"unscoped": {}}',
        'POST', T, body=pw_body(W, 'demo', {'unscoped': {}}))
    add('I10-pw-domain-by-name', 'password admin, domain scope by name (admin has admin on Default)',
        'POST', T, body=pw_body(W, 'admin', {'domain': {'name': 'Default'}}), save='admin_d')
    add('I11-pw-domain-by-id', 'password admin, domain scope by id, ?nocatalog',
        'POST', T + '?nocatalog', body=pw_body(W, 'admin', {'domain': {'id': 'default'}}))
    add('I12-pw-system', 'password admin, system scope {"all": true}',
        'POST', T, body=pw_body(W, 'admin', {'system': {'all': True}}), save='admin_s')
    add('I13-pw-service-user', 'password nova (role service on project service), ?nocatalog',
        'POST', T + '?nocatalog', body=pw_body(W, 'nova', by_name('service')), save='nova_p')
    add('I14-pw-duplicate-method', 'methods ["password", "password"]',
        'POST', T, body=pw_body(W, 'demo', by_name('demo'), methods=['password', 'password']))
    add('I15-pw-admin-project-demo', 'password admin, project demo by id (admin role there)',
        'POST', T, body=pw_body(W, 'admin', by_id(W, 'demo')))
    add('I16-pw-viewer-unscoped', 'password viewer, no scope',
        'POST', T, body=pw_body(W, 'viewer'), save='viewer_u')
    add('I17-pw-demo-p2', 'password demo project demo (a second token, revoked by admin later)',
        'POST', T, body=pw_body(W, 'demo', by_name('demo')), save='demo_p2')
    add('I18-pw-demo-p3', 'password demo project demo (a third token, revoked by its owner with another token later)',
        'POST', T, body=pw_body(W, 'demo', by_name('demo')), save='demo_p3')

    # ---- issuing: token method
    add('T01-token-rescope-unscoped-to-project', 'token method: unscoped demo_u -> project demo by id',
        'POST', T, body=tok_body('demo_u', by_id(W, 'demo')), save='demo_rescoped', parent='demo_u')
    add('T02-token-project-no-scope', 'token method: project token demo_p, no scope -> unscoped',
        'POST', T, body=tok_body('demo_p'), save='demo_p_unscoped', parent='demo_p')
    add('T03-token-rescope-project-to-project', 'token method: admin_p (project admin) -> project demo by name',
        'POST', T, body=tok_body('admin_p', by_name('demo')), save='admin_rescoped', parent='admin_p')
    add('T04-token-second-generation', 'token method from a token-method token (demo_rescoped) -> project demo',
        'POST', T, body=tok_body('demo_rescoped', by_name('demo')), save='demo_gen2', parent='demo_u')
    add('T05-token-system-to-project', 'token method: system token -> project (Keystone: 403)',
        'POST', T, body=tok_body('admin_s', by_name('admin')))
    add('T06-token-system-to-system', 'token method: system token -> system',
        'POST', T + '?nocatalog', body=tok_body('admin_s', {'system': {'all': True}}), parent='admin_s')
    add('T07-token-domain-to-project', 'token method: domain token -> project demo, ?nocatalog',
        'POST', T + '?nocatalog', body=tok_body('admin_d', by_name('demo')), parent='admin_d')
    add('T08-token-project-to-domain', 'token method: admin project token -> domain, ?nocatalog',
        'POST', T + '?nocatalog', body=tok_body('admin_p', {'domain': {'name': 'Default'}}), parent='admin_p')
    add('T09-token-to-domain-no-role', 'token method: demo_u -> domain (no role): 401',
        'POST', T, body=tok_body('demo_u', {'domain': {'name': 'Default'}}))
    add('T10-token-to-project-no-role', 'token method: demo_u -> project admin (no role): 401',
        'POST', T, body=tok_body('demo_u', by_name('admin')))
    body = pw_body(W, 'demo', by_name('demo'), methods=['token', 'password'])
    body['auth']['identity']['token'] = {'id': '{tok:demo_u}'}
    add('T11-token-and-password', 'methods ["token", "password"] (same user): methods and audit chain',
        'POST', T + '?nocatalog', body=body, parent='demo_u')
    body = pw_body(W, 'demo', by_name('demo'), methods=['password', 'token'])
    body['auth']['identity']['token'] = {'id': '{tok:admin_p}'}
    add('T12-token-and-password-other-user', 'methods ["password", "token"], token of admin, password of demo: 401',
        'POST', T, body=body, sec=True)
    add('T13-token-no-id', 'token method, token section without id: 400 (schema)',
        'POST', T, body={'auth': {'identity': {'methods': ['token'], 'token': {}}}})
    add('T14-token-not-a-token', 'token method with a token that is not one: 404',
        'POST', T, body={'auth': {'identity': {'methods': ['token'], 'token': {'id': 'not-a-token'}}}})
    add('T15-token-section-missing', 'methods ["token"] without a token section: 400',
        'POST', T, body={'auth': {'identity': {'methods': ['token']}}})
    add('T16-token-id-not-string', 'token method with "id": 42: 400 (schema)',
        'POST', T, body={'auth': {'identity': {'methods': ['token'], 'token': {'id': 42}}}})
    add('T17-token-expired', 'token method with an expired token: 404 Failed to validate token',
        'POST', T, body=tok_body('expired'), short=True, sec=True)
    add('T18-token-hex64', 'token method with 64 hex digits (porthole\'s token format, unknown): 404',
        'POST', T, body={'auth': {'identity': {'methods': ['token'], 'token': {'id': 'f' * 64}}}})

    # ---- failed authentication and bad scope
    add('F01-wrong-password', 'wrong password', 'POST', T,
        body=pw_body(W, 'demo', by_name('demo'), password='wrong-password'), sec=True)
    add('F02-unknown-user', 'unknown user name', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'nobody', 'domain': {'name': 'Default'}, 'password': 'porthole-demo'}}}}})
    add('F03-unknown-user-domain', 'unknown user domain', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'demo', 'domain': {'name': 'NoSuchDomain'}, 'password': 'porthole-demo'}}}}})
    add('F04-unknown-user-id', 'unknown user id', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'id': '0' * 32, 'password': 'porthole-demo'}}}}})
    add('F05-no-role-on-project', 'viewer -> project admin (no role)', 'POST', T,
        body=pw_body(W, 'viewer', by_name('admin')), sec=True)
    add('F06-project-name-unknown', 'project by unknown name', 'POST', T,
        body=pw_body(W, 'demo', by_name('nope')))
    add('F07-project-id-unknown', 'project by unknown id', 'POST', T,
        body=pw_body(W, 'demo', {'project': {'id': '0' * 32}}))
    add('F08-project-name-no-domain', 'project by name without domain: 400', 'POST', T,
        body=pw_body(W, 'demo', {'project': {'name': 'demo'}}))
    add('F09-domain-scope-no-role', 'domain scope without a role (demo)', 'POST', T,
        body=pw_body(W, 'demo', {'domain': {'name': 'Default'}}), sec=True)
    add('F10-system-scope-no-role', 'system scope without a role (demo)', 'POST', T,
        body=pw_body(W, 'demo', {'system': {'all': True}}), sec=True)
    add('F11-project-and-domain', 'project and domain in scope: 400', 'POST', T,
        body=pw_body(W, 'admin', {'project': {'id': W['projects']['demo']['id']},
                                  'domain': {'name': 'Default'}}))
    add('F12-project-and-system', 'project and system in scope: 400', 'POST', T,
        body=pw_body(W, 'admin', {'project': {'id': W['projects']['demo']['id']},
                                  'system': {'all': True}}))
    add('F13-empty-scope', 'scope {}: 400', 'POST', T, body=pw_body(W, 'demo', {}))
    add('F14-scope-bogus-string', 'scope "bogus": 400', 'POST', T, body=pw_body(W, 'demo', 'bogus'))
    add('F15-domain-scope-unknown', 'domain scope, unknown domain: 401', 'POST', T,
        body=pw_body(W, 'admin', {'domain': {'name': 'NoSuchDomain'}}))
    add('F16-empty-methods', 'methods []: 401', 'POST', T,
        body={'auth': {'identity': {'methods': []}}})
    add('F17-empty-methods-with-password', 'methods [] with a valid password section: 401', 'POST', T,
        body={'auth': {'identity': {'methods': [], 'password': pw_body(W, 'demo')['auth']['identity']['password']}}})
    add('F18-unknown-method', 'unknown method "magic" with its section: 401 + identity.methods', 'POST', T,
        body={'auth': {'identity': {'methods': ['magic'], 'magic': {}}}})
    add('F19-unknown-method-no-section', 'unknown method "magic" without its section: 400', 'POST', T,
        body={'auth': {'identity': {'methods': ['magic']}}})
    add('F20-password-and-unknown', 'methods ["password", "magic"]: 401 unsupported', 'POST', T, sec=True,
        body={'auth': {'identity': {'methods': ['password', 'magic'], 'magic': {},
                                    'password': pw_body(W, 'demo')['auth']['identity']['password']}}})
    add('F20b-password-and-totp', 'methods ["password", "totp"] (totp not enabled in Keystone: 401; a forged factor otherwise)',
        'POST', T + '?nocatalog', sec=True,
        body={'auth': {'identity': {'methods': ['password', 'totp'],
                                    'totp': {'user': {'id': W['users']['demo']['id'], 'passcode': '123456'}},
                                    'password': pw_body(W, 'demo')['auth']['identity']['password']}},
              'scope': by_name('demo')})
    add('F21-user-no-id-no-name', 'password user without id or name: 400', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {'password': 'x'}}}}})
    add('F22-user-name-no-domain', 'password user by name without domain: 400', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'demo', 'password': 'porthole-demo'}}}}})
    add('F23-password-no-user', 'password section without user: 400', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {}}}})
    add('F24-user-no-password', 'password user without password: 401', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'demo', 'domain': {'name': 'Default'}}}}}})
    add('F25-user-domain-empty', 'password user domain {}: 400', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'demo', 'domain': {}, 'password': 'porthole-demo'}}}}})
    add('F26-scope-project-empty', 'scope project {}: 400', 'POST', T,
        body=pw_body(W, 'demo', {'project': {}}))
    add('F27-scope-project-domain-empty', 'scope project by name, domain {}: 400', 'POST', T,
        body=pw_body(W, 'demo', {'project': {'name': 'demo', 'domain': {}}}))
    add('F28-scope-domain-empty', 'scope domain {}: 400', 'POST', T,
        body=pw_body(W, 'admin', {'domain': {}}))
    add('F29-password-not-string', 'password is a number: 400 (schema)', 'POST', T,
        body={'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'demo', 'domain': {'name': 'Default'}, 'password': 12345}}}}})

    # ---- malformed requests
    add('M01-malformed-json', 'malformed JSON: 400', 'POST', T, raw=b'{"auth": {"identity": ')
    add('M02-empty-object', '{}: 400 auth', 'POST', T, raw=b'{}')
    add('M03-auth-null', '{"auth": null}: 400 auth', 'POST', T, raw=b'{"auth": null}')
    add('M04-auth-empty', '{"auth": {}}: 400 schema (identity required)', 'POST', T, raw=b'{"auth": {}}')
    add('M05-missing-identity', 'auth without identity: 400 schema', 'POST', T,
        body={'auth': {'scope': by_id(W, 'demo')}})
    add('M06-identity-no-methods', 'identity without methods: 400 schema', 'POST', T,
        body={'auth': {'identity': {'password': pw_body(W, 'demo')['auth']['identity']['password']}}})
    add('M07-methods-not-list', 'methods is a string: 400 schema', 'POST', T,
        body={'auth': {'identity': {'methods': 'password'}}})
    add('M08-methods-not-strings', 'methods [1]: 400 schema', 'POST', T,
        body={'auth': {'identity': {'methods': [1]}}})
    add('M09-body-array', 'body is a JSON array: 400', 'POST', T, raw=b'[]')
    add('M10-body-null', 'body is JSON null: 400', 'POST', T, raw=b'null')
    add('M11-empty-body-json', 'empty body, Content-Type application/json: 400', 'POST', T, raw=b'')
    add('M12-text-plain', 'Content-Type text/plain: 400', 'POST', T, raw=b'hello', ctype='text/plain')
    add('M13-no-content-type', 'JSON body without Content-Type', 'POST', T,
        body=pw_body(W, 'demo', by_name('demo')), ctype=None)
    add('M14-auth-string', '{"auth": "x"}: 400 schema', 'POST', T, raw=b'{"auth": "x"}')
    add('M15-scope-number', 'scope 42: 400 schema', 'POST', T, body=pw_body(W, 'demo', 42))
    add('M16-invalid-utf8', 'invalid UTF-8 body: 400', 'POST', T, raw=b'{"auth": "\xff\xfe"}')

    # ---- validation (GET/HEAD)
    add('V01-get-own', 'GET: demo validates its own token', 'GET', T, headers=auth_h('demo_p', 'demo_p'))
    add('V02-head-own', 'HEAD: demo checks its own token', 'HEAD', T, headers=auth_h('demo_p', 'demo_p'))
    add('V03-get-admin-other', 'GET: admin validates demo\'s token', 'GET', T, headers=auth_h('admin_p', 'demo_p'))
    add('V04-head-admin-other', 'HEAD: admin checks demo\'s token', 'HEAD', T, headers=auth_h('admin_p', 'demo_p'))
    add('V05-get-nocatalog', 'GET ?nocatalog: admin validates demo\'s token', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'demo_p'))
    add('V06-get-service', 'GET: service user nova validates demo\'s token (keystonemiddleware)', 'GET', T,
        headers=auth_h('nova_p', 'demo_p'))
    add('V07-head-service', 'HEAD: service user nova checks demo\'s token (check_token has no service rule: 403)',
        'HEAD', T, headers=auth_h('nova_p', 'demo_p'), sec=True)
    add('V08-get-reader-other', 'GET: viewer (reader) validates demo\'s token: 403', 'GET', T,
        headers=auth_h('viewer_p', 'demo_p'), sec=True)
    add('V09-head-reader-other', 'HEAD: viewer checks demo\'s token: 403', 'HEAD', T,
        headers=auth_h('viewer_p', 'demo_p'), sec=True)
    add('V10-get-member-admins', 'GET: demo (member) validates admin\'s token: 403', 'GET', T,
        headers=auth_h('demo_p', 'admin_p'), sec=True)
    add('V11-get-member-readers', 'GET: demo (member) validates viewer\'s token: 403', 'GET', T,
        headers=auth_h('demo_p', 'viewer_p'), sec=True)
    add('V12-get-reader-own', 'GET: viewer validates its own token', 'GET', T, headers=auth_h('viewer_p', 'viewer_p'))
    add('V13-get-unscoped-own', 'GET: unscoped demo token validates itself', 'GET', T,
        headers=auth_h('demo_u', 'demo_u'))
    add('V14-get-same-user-other-token', 'GET: demo\'s unscoped token validates demo\'s project token (token subject = same user)',
        'GET', T, headers=auth_h('demo_u', 'demo_p'))
    add('V15-get-unscoped-other-user', 'GET: viewer\'s unscoped token validates demo\'s token: 403', 'GET', T,
        headers=auth_h('viewer_u', 'demo_p'), sec=True)
    add('V16-get-system-admin', 'GET: system admin validates demo\'s token', 'GET', T,
        headers=auth_h('admin_s', 'demo_p'))
    add('V17-get-domain-admin', 'GET: domain admin validates demo\'s token', 'GET', T,
        headers=auth_h('admin_d', 'demo_p'))
    add('V18-get-system-token-body', 'GET: admin validates the system token (body and catalog)', 'GET', T,
        headers=auth_h('admin_p', 'admin_s'))
    add('V19-get-domain-token-body', 'GET: admin validates the domain token (body and catalog)', 'GET', T,
        headers=auth_h('admin_p', 'admin_d'))
    add('V20-get-unscoped-token-body', 'GET: admin validates demo\'s unscoped token', 'GET', T,
        headers=auth_h('admin_p', 'demo_u'))
    add('V21-get-rescoped-body', 'GET: admin validates a token-method token (methods, audit chain)', 'GET', T,
        headers=auth_h('admin_p', 'demo_rescoped'))
    add('V22-get-gen2-body', 'GET: admin validates a second-generation token-method token', 'GET', T,
        headers=auth_h('admin_p', 'demo_gen2'))
    add('V23-get-invalid-subject', 'GET: X-Subject-Token not a token: 404', 'GET', T,
        headers=auth_h('admin_p') + [('X-Subject-Token', 'not-a-token')], sec=True)
    add('V24-head-invalid-subject', 'HEAD: X-Subject-Token not a token: 404', 'HEAD', T,
        headers=auth_h('admin_p') + [('X-Subject-Token', 'not-a-token')])
    add('V25-get-hex64-subject', 'GET: X-Subject-Token of 64 hex digits: 404', 'GET', T,
        headers=auth_h('admin_p') + [('X-Subject-Token', 'a' * 64)], sec=True)
    add('V26-get-missing-subject', 'GET: no X-Subject-Token: 404', 'GET', T, headers=auth_h('admin_p'))
    add('V27-head-missing-subject', 'HEAD: no X-Subject-Token: 404', 'HEAD', T, headers=auth_h('admin_p'))
    add('V28-get-empty-subject', 'GET: empty X-Subject-Token: 404', 'GET', T,
        headers=auth_h('admin_p') + [('X-Subject-Token', '')])
    add('V29-get-missing-auth', 'GET: no X-Auth-Token: 401', 'GET', T, headers=auth_h(None, 'demo_p'))
    add('V30-head-missing-auth', 'HEAD: no X-Auth-Token: 401', 'HEAD', T, headers=auth_h(None, 'demo_p'))
    add('V31-get-invalid-auth', 'GET: invalid X-Auth-Token: 401', 'GET', T,
        headers=[('X-Auth-Token', 'not-a-token')] + auth_h(None, 'demo_p'))
    add('V32-get-missing-both', 'GET: neither header: 401', 'GET', T)
    add('V33-get-expired-subject', 'GET: expired X-Subject-Token: 404', 'GET', T,
        headers=auth_h('admin_p', 'expired'), short=True, sec=True)
    add('V34-head-expired-subject', 'HEAD: expired X-Subject-Token: 404', 'HEAD', T,
        headers=auth_h('admin_p', 'expired'), short=True)
    add('V35-get-expired-allow-expired', 'GET ?allow_expired=1: expired X-Subject-Token (Keystone: 200)', 'GET',
        T + '?allow_expired=1', headers=auth_h('admin_p', 'expired'), short=True)
    add('V36-get-expired-auth', 'GET: expired X-Auth-Token: 401', 'GET', T,
        headers=auth_h('expired', 'admin_p'), short=True, sec=True)
    add('V40-get-reader-missing-subject', 'GET: viewer, no X-Subject-Token (policy before the missing-subject 404)',
        'GET', T, headers=auth_h('viewer_p'))
    add('V41-get-reader-invalid-subject', 'GET: viewer, X-Subject-Token not a token (subject validated before policy)',
        'GET', T, headers=auth_h('viewer_p') + [('X-Subject-Token', 'not-a-token')])
    add('V42-get-reader-empty-subject', 'GET: viewer, empty X-Subject-Token', 'GET', T,
        headers=auth_h('viewer_p') + [('X-Subject-Token', '')])
    add('V43-head-admin-expired-allow-expired', 'HEAD ?allow_expired=1: expired X-Subject-Token', 'HEAD',
        T + '?allow_expired=1', headers=auth_h('admin_p', 'expired'), short=True)
    add('V37-get-domain-nocatalog', 'GET ?nocatalog: the domain token', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'admin_d'))
    add('V38-get-service-token-body', 'GET: admin validates the service user\'s token', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'nova_p'))
    add('V39-get-token-and-password-own', 'GET: admin validates demo_p_unscoped (token method, no scope)', 'GET', T,
        headers=auth_h('admin_p', 'demo_p_unscoped'))

    # ---- revocation and chains
    add('R01-issue-rev1', 'issue rev1 (demo, project demo)', 'POST', T + '?nocatalog',
        body=pw_body(W, 'demo', by_name('demo')), save='rev1')
    add('R02-issue-rev1-child', 'token method from rev1 -> project demo (rev1_child)', 'POST', T + '?nocatalog',
        body=tok_body('rev1', by_name('demo')), save='rev1_child', parent='rev1')
    add('R03-issue-rev1-grandchild', 'token method from rev1_child (rev1_gc)', 'POST', T + '?nocatalog',
        body=tok_body('rev1_child', by_name('demo')), save='rev1_gc', parent='rev1')
    # forbidden revocations aim at tokens issued for the purpose, so that a
    # server that wrongly allows them does not break the later cases
    add('R04a-issue-victim-demo', 'issue victim_demo (demo, project demo)', 'POST', T + '?nocatalog',
        body=pw_body(W, 'demo', by_name('demo')), save='victim_demo')
    add('R04b-issue-victim-admin', 'issue victim_admin (admin, project admin)', 'POST', T + '?nocatalog',
        body=pw_body(W, 'admin', by_name('admin')), save='victim_admin')
    add('R04c-issue-victim-demo2', 'issue victim_demo2 (demo, project demo)', 'POST', T + '?nocatalog',
        body=pw_body(W, 'demo', by_name('demo')), save='victim_demo2')
    add('R04d-issue-victim-demo3', 'issue victim_demo3 (demo, unscoped)', 'POST', T,
        body=pw_body(W, 'demo'), save='victim_demo3')
    add('R04-delete-reader-other', 'DELETE: viewer revokes demo\'s token: 403', 'DELETE', T,
        headers=auth_h('viewer_p', 'victim_demo'), sec=True)
    add('R05-delete-service-other', 'DELETE: service user revokes demo\'s token: 403', 'DELETE', T,
        headers=auth_h('nova_p', 'victim_demo2'), sec=True)
    add('R06-delete-member-admins', 'DELETE: demo revokes admin\'s token: 403', 'DELETE', T,
        headers=auth_h('demo_p', 'victim_admin'), sec=True)
    add('R06b-delete-unscoped-other-user', 'DELETE: viewer\'s unscoped token revokes demo\'s token: 403', 'DELETE', T,
        headers=auth_h('viewer_u', 'victim_demo3'), sec=True)
    add('R07-get-victim-demo-still-valid', 'GET: victim_demo still valid after viewer\'s refused revocation', 'GET',
        T + '?nocatalog', headers=auth_h('admin_p', 'victim_demo'), sec=True)
    add('R07b-get-victim-demo2-still-valid', 'GET: victim_demo2 still valid after the service user\'s refused revocation',
        'GET', T + '?nocatalog', headers=auth_h('admin_p', 'victim_demo2'), sec=True)
    add('R07c-get-victim-admin-still-valid', 'GET: victim_admin still valid after demo\'s refused revocation', 'GET',
        T + '?nocatalog', headers=auth_h('admin_p', 'victim_admin'), sec=True)
    add('R07d-get-victim-demo3-still-valid', 'GET: victim_demo3 still valid after the unscoped viewer\'s refused revocation',
        'GET', T + '?nocatalog', headers=auth_h('admin_p', 'victim_demo3'), sec=True)
    add('R08-delete-own', 'DELETE: demo revokes rev1 with rev1 itself: 204', 'DELETE', T,
        headers=auth_h('rev1', 'rev1'))
    add('R09-get-revoked', 'GET: the revoked token: 404', 'GET', T, headers=auth_h('admin_p', 'rev1'), sec=True)
    add('R10-head-revoked', 'HEAD: the revoked token: 404', 'HEAD', T, headers=auth_h('admin_p', 'rev1'))
    add('R11-delete-revoked', 'DELETE: the revoked token again: 404', 'DELETE', T,
        headers=auth_h('admin_p', 'rev1'))
    add('R12-revoked-as-auth', 'the revoked token as X-Auth-Token: 401', 'GET', T,
        headers=auth_h('rev1', 'demo_p'), sec=True)
    add('R13-token-method-revoked', 'token method with the revoked token: 404', 'POST', T,
        body=tok_body('rev1'), sec=True)
    add('R14-get-revoked-allow-expired', 'GET ?allow_expired=1: the revoked token: 404', 'GET',
        T + '?allow_expired=1', headers=auth_h('admin_p', 'rev1'), sec=True)
    add('R15-get-child-of-revoked', 'GET: token derived from rev1 (chain): 404', 'GET', T,
        headers=auth_h('admin_p', 'rev1_child'), sec=True)
    add('R16-get-grandchild-of-revoked', 'GET: second generation from rev1 (chain): 404', 'GET', T,
        headers=auth_h('admin_p', 'rev1_gc'), sec=True)
    add('R17-child-of-revoked-as-auth', 'token derived from rev1 as X-Auth-Token: 401', 'GET', T,
        headers=auth_h('rev1_child', 'demo_p'), sec=True)
    add('R18-token-method-child-of-revoked', 'token method with the token derived from rev1: 404', 'POST', T,
        body=tok_body('rev1_child', by_name('demo')), sec=True)
    # revoking a derived token: the parent stays valid; Keystone's chain
    # event is the derived token's own audit id.
    add('R19-issue-rev2', 'issue rev2 (demo, unscoped)', 'POST', T,
        body=pw_body(W, 'demo'), save='rev2')
    add('R20-issue-rev2-child', 'token method from rev2 -> project demo (rev2_child)', 'POST', T + '?nocatalog',
        body=tok_body('rev2', by_name('demo')), save='rev2_child', parent='rev2')
    add('R21-issue-rev2-gc', 'token method from rev2_child (rev2_gc)', 'POST', T + '?nocatalog',
        body=tok_body('rev2_child', by_name('demo')), save='rev2_gc', parent='rev2')
    add('R22-delete-rev2-child', 'DELETE: admin revokes rev2_child: 204', 'DELETE', T,
        headers=auth_h('admin_p', 'rev2_child'))
    add('R23-get-rev2-child', 'GET: rev2_child: 404', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'rev2_child'), sec=True)
    add('R24-get-rev2-parent', 'GET: rev2 (the parent) is still valid', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'rev2'))
    add('R25-get-rev2-gc', 'GET: rev2_gc (derived from rev2_child, chain id = rev2)', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'rev2_gc'))
    # ?cascade=false (keystone 30): only the token itself
    add('R26-issue-rev3', 'issue rev3 (demo, project demo)', 'POST', T + '?nocatalog',
        body=pw_body(W, 'demo', by_name('demo')), save='rev3')
    add('R27-issue-rev3-child', 'token method from rev3 (rev3_child)', 'POST', T + '?nocatalog',
        body=tok_body('rev3', by_name('demo')), save='rev3_child', parent='rev3')
    add('R28-delete-rev3-no-cascade', 'DELETE ?cascade=false: rev3 by its owner', 'DELETE', T + '?cascade=false',
        headers=auth_h('rev3', 'rev3'))
    add('R29-get-rev3', 'GET: rev3: 404', 'GET', T + '?nocatalog', headers=auth_h('admin_p', 'rev3'))
    add('R30-get-rev3-child', 'GET: rev3_child after ?cascade=false: still valid', 'GET', T + '?nocatalog',
        headers=auth_h('admin_p', 'rev3_child'))
    add('R31-delete-admin-other', 'DELETE: admin revokes demo_p2: 204', 'DELETE', T,
        headers=auth_h('admin_p', 'demo_p2'))
    add('R32-get-demo-p2', 'GET: demo_p2 after admin\'s revocation: 404', 'GET', T,
        headers=auth_h('admin_p', 'demo_p2'), sec=True)
    add('R33-delete-same-user-other-token', 'DELETE: demo revokes demo_p3 with demo_u (same user): 204',
        'DELETE', T, headers=auth_h('demo_u', 'demo_p3'))
    add('R34-delete-invalid-subject', 'DELETE: X-Subject-Token not a token: 404', 'DELETE', T,
        headers=auth_h('admin_p') + [('X-Subject-Token', 'not-a-token')], sec=True)
    add('R35-delete-missing-subject', 'DELETE: no X-Subject-Token: 404', 'DELETE', T, headers=auth_h('admin_p'))
    add('R35b-delete-reader-missing-subject', 'DELETE: viewer, no X-Subject-Token (policy first: 403)', 'DELETE', T,
        headers=auth_h('viewer_p'))
    add('R36-delete-missing-auth', 'DELETE: no X-Auth-Token: 401', 'DELETE', T, headers=auth_h(None, 'demo_p'))
    add('R37-delete-expired', 'DELETE: expired X-Subject-Token: 404', 'DELETE', T,
        headers=auth_h('admin_p', 'expired'), short=True)
    add('R38-delete-unscoped-own', 'DELETE: an unscoped token revokes itself: 204', 'DELETE', T,
        headers=auth_h('demo_u2', 'demo_u2'))
    add('R39-system-revokes', 'DELETE: system admin revokes viewer_u: 204', 'DELETE', T,
        headers=auth_h('admin_s', 'viewer_u'))

    # ---- other methods
    add('O01-put-tokens', 'PUT /v3/auth/tokens: 405 + Allow', 'PUT', T, headers=auth_h('admin_p'))
    add('O02-patch-tokens', 'PATCH /v3/auth/tokens: 405 + Allow', 'PATCH', T, headers=auth_h('admin_p'))
    add('O03-options-tokens', 'OPTIONS /v3/auth/tokens', 'OPTIONS', T)
    add('O04-put-tokens-noauth', 'PUT /v3/auth/tokens without a token', 'PUT', T)
    add('O05-auth-catalog', 'GET /v3/auth/catalog (demo project token)', 'GET', '/v3/auth/catalog',
        headers=auth_h('demo_p'))
    add('O06-auth-catalog-domain', 'GET /v3/auth/catalog (domain token)', 'GET', '/v3/auth/catalog',
        headers=auth_h('admin_d'))
    return C


# --------------------------------------------------------------------------
# Running
def resolve(side, case, text, sent):
    def sub(m):
        name = m.group(1)
        if side.name == 'oracle' and name == 'expired':
            v = side.W['expired_token']
        elif side.name == 'porthole' and case.get('short'):
            v = short_token(side, name)
        else:
            v = side.tokens.get(name)
        if v is None:
            side_notes = case.setdefault('_notes', {}).setdefault(side.name, [])
            side_notes.append('token %s unavailable on %s (its issuing case failed)'
                              % (name, side.name))
            v = 'missing-token-%s' % name
        sent.append(v)
        return v
    return re.sub(r'\{tok:([A-Za-z0-9_]+)\}', sub, text)


def short_token(side, name):
    """Tokens of the short-expiry porthole instance: 'expired' was issued at
    start (and has expired by now); others are issued fresh when needed."""
    if name == 'expired':
        v, t = side.short_tokens['expired']
        wait = t + SHORT_EXPIRATION + 1.0 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return v
    cur = side.short_tokens.get(name)
    if cur and time.monotonic() - cur[1] < 0.5:
        return cur[0]
    user, scope = {'admin_p': ('admin', by_name('admin')),
                   'demo_p': ('demo', by_name('demo'))}[name]
    v = issue_direct(side.short_port, side.prefix, side.W, user, scope)
    side.short_tokens[name] = (v, time.monotonic())
    return v


def issue_direct(port, prefix, W, user, scope):
    body = json.dumps(pw_body(W, user, scope)).encode()
    st, h, _d = http_call(port, 'POST', prefix + '/v3/auth/tokens',
                          [('Content-Type', 'application/json')], body)
    tok = header_map(h).get('x-subject-token')
    if st != 201 or not tok:
        raise CannotRun('could not issue a %s token on port %d (%s)' % (user, port, st))
    return tok[0]


def run_case(case, side):
    sent = []
    headers = [('Accept', 'application/json')]
    for k, v in case['headers']:
        headers.append((k, resolve(side, case, v, sent)))
    body = None
    if case.get('raw') is not None:
        body = case['raw']
    elif case.get('body') is not None:
        body = resolve(side, case, json.dumps(case['body']), sent).encode()
    ctype = case.get('ctype', 'application/json')
    if body is not None and ctype:
        headers.append(('Content-Type', ctype))
    port = side.port
    if case.get('short') and side.name == 'porthole':
        port = side.short_port
    path = side.path(case)
    st, h, data = http_call(port, case['method'], path, headers, body)
    case.setdefault('_sent_tokens', {})[side.name] = sent
    side.last_headers = header_map(h)
    js = parse_json(data) if data else None
    if js is not None:
        learn_from_body(side, js)
    if case.get('save') and st == 201:
        tok = header_map(h).get('x-subject-token')
        if tok:
            side.tokens[case['save']] = tok[0]
            if isinstance(js, dict) and isinstance(js.get('token'), dict):
                side.token_info[case['save']] = js['token']
                aids = js['token'].get('audit_ids') or []
                if aids:
                    side.audit[aids[0]] = case['save']
    return {
        'path': path, 'status': st, 'raw_headers': h,
        'headers': norm_headers(side, case, st, h, case['method']),
        'text': norm_str(side, data.decode('utf-8', 'replace')) if js is None else None,
        'json': norm(side, js) if js is not None else None,
        'canonical': canonical(norm(side, js)) if js is not None else None,
        'keyorder': key_orders(js),
        'layout': json_layout(data, js),
        'facts': facts(side, case, js, data, side.W),
        'notes': case.get('_notes', {}).get(side.name, []),
        'request_headers': [(k, norm_str(side, v)) for k, v in headers],
        'request_body': None if body is None else (
            norm_str(side, body.decode('utf-8', 'replace'))),
    }


def reason_kind(reason):
    """A reason without its values, to count differences by kind."""
    kind = reason.split(': ')[0]
    if kind.startswith('status '):
        return 'status'
    kind = re.sub(r'\[\d+\]', '[]', kind)
    if kind.startswith('token ') and 'unavailable' in reason:
        return 'a token the case needs was not issued by porthole'
    return kind


def case_section(cid):
    return {'D': 'Version documents and routing', 'I': 'Issuing tokens: password',
            'T': 'Issuing tokens: token method', 'F': 'Failed authentication and bad scope',
            'M': 'Malformed requests', 'V': 'Validation (GET/HEAD)',
            'R': 'Revocation and audit chains', 'O': 'Other methods and routes'}.get(cid[0], '?')


def fence(text, lang=''):
    return '```%s\n%s\n```' % (lang, text)


def show_side(r):
    lines = ['%s %s' % (r['status'], http.client.responses.get(r['status'], ''))]
    for k, v in r['headers'].items():
        if v is not None:
            lines.append('%s: %s' % (k, ', '.join(v) if isinstance(v, list) else v))
    out = fence('\n'.join(lines))
    if r['json'] is not None:
        out += '\n' + fence(json.dumps(r['json']), 'json')
    elif r['text']:
        out += '\n' + fence(r['text'])
    if r['layout']:
        out += '\nJSON layout: %s' % r['layout']
    f = {k: v for k, v in r['facts'].items() if v not in (None, False, 'n/a')}
    if f:
        out += '\nfacts: %s' % json.dumps(f)
    return out


def write_markdown(path, results, summary, W):
    out = ['# Identity parity: Keystone %s oracle vs porthole' % W.get('keystone_version'),
           '', summary, '',
           'Ids are symbolic: `{user:NAME}`, `{project:NAME}`, `{role:NAME}`, '
           '`{service:TYPE}`, `{endpoint:TYPE:INTERFACE}`, `{token:NAME}` (the '
           'token saved by the case that issued it), `{audit:NAME}` (that '
           'token\'s own audit id), `<time.000000Z>` (a timestamp and its '
           'shape), `<identity>` (Keystone\'s root / porthole\'s /identity), '
           '`<compute>` (porthole\'s base URL, which the oracle\'s compute '
           'endpoints name).  Headers shown: the compared ones (Vary and Allow '
           'as sets).  Bodies as received, ids replaced (roles and catalog in '
           'the order received; the comparison ignores their order).', '']
    section = None
    for r in results:
        s = case_section(r['id'])
        if s != section:
            out += ['## ' + s, '']
            section = s
        out.append('### %s %s: %s' % (r['verdict'], r['id'], r['title']))
        out.append('')
        req = '%s %s' % (r['method'], r['oracle']['path'])
        if r['porthole']['path'] != r['oracle']['path']:
            req += '   (porthole: %s)' % r['porthole']['path']
        hdrs = [('%s: %s' % (k, v)) for k, v in r['oracle']['request_headers'] if k != 'Accept']
        reqtext = '\n'.join([req] + hdrs)
        if r['oracle']['request_body'] is not None:
            reqtext += '\n\n' + r['oracle']['request_body']
        out.append(fence(reqtext))
        if r['reasons']:
            out.append('')
            out.append('Differences (Keystone vs porthole):')
            out += ['- ' + x for x in r['reasons']]
        out += ['', '**Keystone**', '', show_side(r['oracle']), '']
        if r['verdict'] == 'SAME':
            out += ['**porthole**: identical.', '']
        else:
            out += ['**porthole**', '', show_side(r['porthole']), '']
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


def main(argv=None):
    ap = argparse.ArgumentParser(prog='parity.py --section identity',
                                 description=__doc__.split('\n\n')[0])
    ap.add_argument('oracle_info', help="the Keystone oracle's info file (keystone_oracle.py --info-file)")
    ap.add_argument('porthole_bin', help='path of the porthole binary')
    ap.add_argument('--report', default=os.path.join(tempfile.gettempdir(), 'parity-identity-report.json'),
                    help='JSON report path (default: %(default)s)')
    ap.add_argument('--markdown', help='also write every exchange, both sides, as Markdown here')
    ap.add_argument('--start-oracle', action='store_true',
                    help='start a fresh private Keystone oracle writing ORACLE_INFO, stop it at the end')
    ap.add_argument('--oracle-port', type=int, default=0)
    ap.add_argument('--oracle-python', default=ORACLE_VENV_PY)
    ap.add_argument('--oracle-script', default=ORACLE_SCRIPT)
    ap.add_argument('--keep-config', help='also write the generated porthole config here')
    ap.add_argument('--only', help='run only cases whose id contains this string '
                    '(cases use tokens issued by earlier ones)')
    args = ap.parse_args(argv)

    atexit.register(_stop_children)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    logdir = tempfile.mkdtemp(prefix='parity-identity-')
    pport, sport = free_port(), free_port()
    try:
        if args.start_oracle:
            print('starting a private Keystone oracle ...', file=sys.stderr)
            W = start_oracle(args.oracle_info, args.oracle_port or free_port(),
                             args.oracle_python, args.oracle_script, logdir,
                             'http://127.0.0.1:%d/v2.1/%%(project_id)s' % pport)
        else:
            with open(args.oracle_info) as f:
                W = json.load(f)
        m = re.match(r'^http://127\.0\.0\.1:(\d+)$', W.get('root_url', ''))
        if not m:
            raise CannotRun('oracle root_url %r is not http://127.0.0.1:PORT' % W.get('root_url'))
        oport = int(m.group(1))
        try:
            http_call(oport, 'GET', '/v3', [], None, timeout=10)
        except OSError as e:
            raise CannotRun('oracle at %s unreachable: %s' % (W['root_url'], e))
        cfg = porthole_config(W, int(W.get('token_expiration', 3600)))
        cfg_path = os.path.join(logdir, 'porthole.toml')
        with open(cfg_path, 'w') as f:
            f.write(cfg)
        if args.keep_config:
            with open(args.keep_config, 'w') as f:
                f.write(cfg)
        short_path = os.path.join(logdir, 'porthole-short.toml')
        with open(short_path, 'w') as f:
            f.write(porthole_config(W, SHORT_EXPIRATION))
        binary = os.path.abspath(args.porthole_bin)
        start_porthole(binary, cfg_path, pport, logdir, 'porthole')
        start_porthole(binary, short_path, sport, logdir, 'porthole-short')
        obase, pbase = W['root_url'], 'http://127.0.0.1:%d' % pport
        compute_prefix = W.get('compute_url', '').split('/v2.1')[0] or pbase
        oracle = Side('oracle', oport, '', W, sorted(
            [(obase, '<identity>'), (compute_prefix, '<compute>')], key=lambda x: -len(x[0])))
        sbase = 'http://127.0.0.1:%d' % sport
        porthole = Side('porthole', pport, '/identity', W, [
            (pbase + '/identity', '<identity>'), (sbase + '/identity', '<identity>'),
            (pbase, '<compute>'), (sbase, '<compute>')], short_port=sport)
        # oracle: ids from the info file; porthole learns its own from bodies
        for role, rid in W['roles'].items():
            oracle.learn(rid, '{role:%s}' % role)
        for stype, s in W['services'].items():
            oracle.learn(s['id'], '{service:%s}' % stype)
            for iface, eid in s['endpoints'].items():
                oracle.learn(eid, '{endpoint:%s:%s}' % (stype, iface))
        oracle.tokens['expired'] = W['expired_token']
        porthole.short_tokens['expired'] = (
            issue_direct(sport, '/identity', W, 'demo', by_name('demo')), time.monotonic())
    except (CannotRun, OSError, KeyError, ValueError) as e:
        print('parity identity: cannot run: %s' % e, file=sys.stderr)
        return 2

    print('parity identity: oracle %s (keystone %s), porthole %s (%s; expiry cases on %s), logs in %s'
          % (obase, W.get('keystone_version'), pbase, args.porthole_bin, sbase, logdir))
    cases = build_cases(W)
    if args.only:
        cases = [c for c in cases if args.only in c['id']]
    counts = {'SAME': 0, 'DIFF': 0, 'EXPECTED': 0}
    sec_diffs = 0
    results = []
    for case in cases:
        ro = run_case(case, oracle)
        rp = run_case(case, porthole)
        reasons = compare(ro, rp)
        exp = expected_difference(case['id'], reasons)
        verdict = 'SAME' if not reasons else ('EXPECTED' if exp else 'DIFF')
        counts[verdict] += 1
        if verdict == 'DIFF' and case.get('sec'):
            sec_diffs += 1
        line = '%-8s %-42s %s %s' % (verdict, case['id'], case['method'], case['path'])
        if reasons:
            line += '  -- ' + ('(%s) ' % exp[0] if exp else '') + \
                ('[security] ' if case.get('sec') else '') + '; '.join(reasons)
        print(line)
        results.append({'id': case['id'], 'title': case['title'], 'verdict': verdict,
                        'expected': exp[1] if exp else None,
                        'security': bool(case.get('sec')), 'reasons': reasons,
                        'method': case['method'], 'oracle': ro, 'porthole': rp})
    tally = {}
    for r in results:
        for kind in {reason_kind(x) for x in r['reasons']}:
            tally[kind] = tally.get(kind, 0) + 1
    print('parity identity: differences by kind (cases):')
    for kind, k in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])):
        print('  %4d  %s' % (k, kind))
    for side in (oracle, porthole):
        for c in side.conflicts:
            print('parity identity: %s id conflict: %s' % (side.name, c))
    n = len(cases)
    summary = ('parity identity: %d cases, %d identical, %d different (%d of them in '
               'security cases), %d expected differences'
               % (n, counts['SAME'], counts['DIFF'], sec_diffs, counts['EXPECTED']))
    print(summary)
    with open(args.report, 'w') as f:
        json.dump({'summary': summary, 'counts': dict(counts, cases=n, security_diffs=sec_diffs),
                   'differences_by_kind': tally,
                   'oracle': {k: v for k, v in W.items() if k != 'expired_token'},
                   'porthole': {'base_url': pbase, 'binary': args.porthole_bin, 'config': cfg},
                   'cases': results}, f, indent=1, default=str)
    print('parity identity: report written to %s' % args.report)
    if args.markdown:
        write_markdown(args.markdown, results, summary, W)
        print('parity identity: exchanges written to %s' % args.markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())

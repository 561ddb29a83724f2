"""The servers section of parity.py: /servers (show, list, detail, filters),
/servers/{id}/action (state actions), /flavors and POST /servers refusals,
sent to the Nova oracle and to porthole over the same world as the nova
section (parity.py derives the seed from the oracle).

    python3 parity/parity.py --section servers ORACLE_INFO PORTHOLE_BIN [--start-oracle] ...

Run it against a fresh oracle (--start-oracle): the actions change the
`active` server.
"""

import json
import re

# Cases whose difference is deliberate: id -> (code, reason).  The README's
# table of deliberate differences lists the same.
_HOST = ('compute host names: the oracle runs Nova\'s fake driver on host '
         '"compute", node "fake-mini", instance-<db id>, /dev/sda; porthole '
         'names itself')
_POWER = ('power_state: the oracle\'s fake driver reports RUNNING (1) whatever '
          'the state; porthole reports the power state of the vm_state (PAUSED 3, '
          'SUSPENDED 7, SHUTDOWN 4, NOSTATE 0 while building or in error)')
_IMAGE = ('image properties (2.98): the oracle\'s test image has '
          '{"architecture": "x86_64"}; porthole\'s images have none')
_FLAVORS = ('the oracle\'s functional-test fixture adds a sixth flavor '
            '(m1.tiny.specs); porthole serves the five classic ones')
EXPECTED_DIFFERENCES = {
    'SV-show-active-2.3-admin': ('host', _HOST),
    'SV-show-active-2.73-admin': ('host', _HOST),
    'SV-show-active-2.100-admin': ('host', _HOST),
    'SV-show-active-2.100-member': ('image', _IMAGE),
    'SV-show-active-2.1-admin': ('host', _HOST),
    'SV-detail-2.1-admin': ('host', _HOST),
    'SV-show-paused-2.1': ('power', _POWER),
    'SV-show-building-2.1': ('power', _POWER),
    'SV-show-error-2.1': ('power', _POWER),
    'SV-show-building-2.73': ('power', _POWER),
    'SV-show-error-2.73': ('power', _POWER),
    'AC-2-pause-show': ('power', _POWER),
    'AC-4-suspend-show': ('power', _POWER),
    'SV-show-suspended-2.1': ('power', _POWER),
    'SV-show-paused-2.73': ('power', _POWER),
    'SV-show-suspended-2.73': ('power', _POWER),
    'SV-detail-2.1': ('power', _POWER),
    'SV-detail-2.73': ('power', _POWER),
    'SV-detail-2.47': ('power', _POWER),
    'SV-detail-name-regex': ('power', _POWER),
    'FL-list': ('flavors', _FLAVORS),
    'FL-detail': ('flavors', _FLAVORS),
    'FL-list-2.55': ('flavors', _FLAVORS),
    'FL-detail-2.61': ('flavors', _FLAVORS),
    'FL-detail-2.75': ('flavors', _FLAVORS),
    'FL-minram': ('flavors', _FLAVORS),
}

# Nova's `created`/`updated` (seconds and Z) are times too.
TIME_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6}|Z)$')


def build_cases(W, OTHER_PROJECT, JSON_NULL):
    P = W['project_id']
    S = W['servers']
    NET = W['networks']['network_1']
    INUSE = W['ports']['in_use_by_other_device']
    C = '/v2.1/%s' % P
    member = ('fake', P, 'reader,member')
    admin = ('admin', P, 'reader,member,admin')
    reader = ('fake', P, 'reader')
    other_member = ('fake', OTHER_PROJECT, 'reader,member')
    cases = []
    settle = {'kind': 'sleep', 'seconds': 1.5}

    def case(cid, method, path, role=member, mv=None, body=None, **kw):
        hdrs = []
        if mv is not None:
            hdrs.append(('OpenStack-API-Version', 'compute %s' % mv))
        if body is not None:
            body = b'null' if body is JSON_NULL else json.dumps(body).encode()
            hdrs.append(('Content-Type', 'application/json'))
        c = dict(id=cid, method=method, path=path, role=role, headers=hdrs, body=body)
        c.update(kw)
        assert not any(x['id'] == cid for x in cases), cid
        cases.append(c)

    srv = lambda s: '%s/servers/%s' % (C, S[s])
    act = lambda s: srv(s) + '/action'

    # --- show, per server and microversion
    for name in S:
        case('SV-show-%s-2.1' % name, 'GET', srv(name), mv='2.1')
    for name in ('active', 'active_with_port_1', 'stopped', 'locked', 'paused',
                 'suspended', 'building', 'error'):
        case('SV-show-%s-2.73' % name, 'GET', srv(name), mv='2.73')
    for mv in ('2.1', '2.3', '2.73', '2.100'):
        case('SV-show-active-%s-admin' % mv, 'GET', srv('active'), admin, mv=mv)
    for mv in ('2.9', '2.16', '2.19', '2.26', '2.47', '2.63', '2.71', '2.90', '2.96', '2.100'):
        case('SV-show-active-%s-member' % mv, 'GET', srv('active'), mv=mv)
    case('SV-show-unknown', 'GET', '%s/servers/00000000-0000-0000-0000-00000000abcd' % C)
    case('SV-show-not-uuid', 'GET', '%s/servers/nope' % C)
    case('SV-show-other-project', 'GET', '/v2.1/%s/servers/%s' % (OTHER_PROJECT, S['active']),
         other_member)
    case('SV-show-reader', 'GET', srv('active'), reader, mv='2.1')
    case('SV-show-no-project-url', 'GET', '/v2.1/servers/%s' % S['active'], mv='2.1')

    # --- lists
    case('SV-list', 'GET', C + '/servers', mv='2.1')
    case('SV-list-no-project-url', 'GET', '/v2.1/servers', mv='2.1')
    case('SV-detail-2.1', 'GET', C + '/servers/detail', mv='2.1')
    case('SV-detail-2.47', 'GET', C + '/servers/detail', mv='2.47')
    case('SV-detail-2.73', 'GET', C + '/servers/detail', mv='2.73')
    case('SV-detail-2.1-admin', 'GET', C + '/servers/detail?name=active-1', admin, mv='2.1')
    case('SV-list-limit', 'GET', C + '/servers?limit=2', mv='2.1')
    case('SV-list-limit-marker', 'GET', C + '/servers?limit=2&marker=%s' % S['suspended'], mv='2.1')
    case('SV-list-limit-0', 'GET', C + '/servers/detail?limit=0', mv='2.1')
    case('SV-list-limit-abc', 'GET', C + '/servers?limit=abc', mv='2.1')
    case('SV-list-marker-bogus', 'GET', C + '/servers?marker=bogus', mv='2.1')
    case('SV-list-name', 'GET', C + '/servers?name=act', mv='2.1')
    case('SV-detail-name-regex', 'GET', C + '/servers/detail?name=^(paused|stopped)$', mv='2.1')
    case('SV-list-status-active', 'GET', C + '/servers?status=ACTIVE', mv='2.1')
    case('SV-list-status-shutoff', 'GET', C + '/servers?status=SHUTOFF', mv='2.1')
    case('SV-list-status-build', 'GET', C + '/servers?status=BUILD', mv='2.1')
    case('SV-list-status-unknown', 'GET', C + '/servers?status=FOO', mv='2.1')
    case('SV-list-changes-since-future', 'GET',
         C + '/servers?changes-since=2999-01-01T00:00:00Z', mv='2.1')
    case('SV-list-sort-name', 'GET', C + '/servers?sort_key=display_name&sort_dir=asc', mv='2.1')
    case('SV-list-all-tenants-member', 'GET', C + '/servers?all_tenants=1', mv='2.1')
    case('SV-detail-all-tenants-member', 'GET', C + '/servers/detail?all_tenants=1', mv='2.1')
    case('SV-list-other-project-member', 'GET', '/v2.1/%s/servers' % OTHER_PROJECT,
         other_member, mv='2.1')

    # --- flavors
    case('FL-list', 'GET', C + '/flavors', mv='2.1')
    case('FL-detail', 'GET', C + '/flavors/detail', mv='2.1')
    case('FL-list-2.55', 'GET', C + '/flavors', mv='2.55')
    case('FL-detail-2.61', 'GET', C + '/flavors/detail', mv='2.61')
    case('FL-detail-2.75', 'GET', C + '/flavors/detail', mv='2.75')
    case('FL-minram', 'GET', C + '/flavors/detail?minRam=4000', mv='2.1')
    case('FL-limit', 'GET', C + '/flavors?limit=2', mv='2.1')
    for mv in ('2.1', '2.55', '2.61', '2.75'):
        case('FL-show-1-%s' % mv, 'GET', C + '/flavors/1', mv=mv)
    case('FL-show-99', 'GET', C + '/flavors/99', mv='2.1')

    # --- create refusals (no server is made)
    def create(cid, server, mv='2.73'):
        case(cid, 'POST', C + '/servers', mv=mv, body={'server': server})
    img = '00000000-0000-0000-0000-000000000000'
    create('CR-flavor-unknown', {'name': 'x', 'imageRef': img, 'flavorRef': '99',
                                 'networks': 'none'})
    create('CR-image-unknown', {'name': 'x', 'imageRef': img, 'flavorRef': '1',
                                'networks': 'none'})
    create('CR-no-networks', {'name': 't3', 'imageRef': img, 'flavorRef': '1'})
    create('CR-no-name', {'imageRef': img, 'flavorRef': '1', 'networks': 'none'})
    create('CR-empty-name', {'name': '', 'imageRef': img, 'flavorRef': '1',
                             'networks': 'none'})
    create('CR-networks-bogus', {'name': 'x', 'imageRef': img, 'flavorRef': '1',
                                 'networks': 'bogus'})
    create('CR-extra-key', {'name': 'x', 'imageRef': img, 'flavorRef': '1',
                            'networks': 'auto', 'bogus': 1})
    case('CR-no-server', 'POST', C + '/servers', mv='2.73', body={'x': 1})

    # --- state actions (refusals first, then the transitions of `active`)
    case('AC-unknown-action', 'POST', act('active'), mv='2.1', body={'foo': None})
    case('AC-start-active', 'POST', act('active'), mv='2.1', body={'os-start': None})
    case('AC-stop-building', 'POST', act('building'), mv='2.1', body={'os-stop': None})
    case('AC-stop-locked', 'POST', act('locked'), mv='2.1', body={'os-stop': None})
    case('AC-pause-stopped', 'POST', act('stopped'), mv='2.1', body={'pause': None})
    case('AC-resume-active', 'POST', act('active'), mv='2.1', body={'resume': None})
    case('AC-unpause-active', 'POST', act('active'), mv='2.1', body={'unpause': None})
    case('AC-start-paused', 'POST', act('paused'), mv='2.1', body={'os-start': None})
    case('AC-stop-reader', 'POST', act('active'), reader, mv='2.1', body={'os-stop': None})
    case('AC-stop-unknown', 'POST', '%s/servers/00000000-0000-0000-0000-00000000abcd/action' % C,
         mv='2.1', body={'os-stop': None})
    for i, (body, name) in enumerate((({'os-stop': None}, 'stop'), ({'os-start': None}, 'start'),
                                      ({'pause': None}, 'pause'), ({'unpause': None}, 'unpause'),
                                      ({'suspend': None}, 'suspend'), ({'resume': None}, 'resume'))):
        case('AC-%d-%s' % (i, name), 'POST', act('active'), mv='2.1', body=body, settle=settle)
        case('AC-%d-%s-show' % (i, name), 'GET', srv('active'), mv='2.73')
    case('AC-lock-reason', 'POST', act('active'), mv='2.73',
         body={'lock': {'locked_reason': 'maintenance'}}, settle=settle)
    case('AC-lock-show', 'GET', srv('active'), mv='2.73')
    case('AC-locked-stop', 'POST', act('active'), mv='2.1', body={'os-stop': None})
    case('AC-lock-again', 'POST', act('active'), mv='2.1', body={'lock': None}, settle=settle)
    case('AC-unlock', 'POST', act('active'), mv='2.1', body={'unlock': None}, settle=settle)
    case('AC-unlock-show', 'GET', srv('active'), mv='2.73')
    case('AC-actions', 'GET', srv('active') + '/os-instance-actions', mv='2.1',
         actions_of=S['active'])
    return cases


def patch_seed(seed, W, oracle, admin, get_json):
    """The nova section's seed, with the oracle's image on every server and
    the servers in the oracle's creation order (porthole's seed order)."""
    js = get_json(oracle, '/v2.1/%s/servers/detail' % W['project_id'], admin)
    listed = js['servers']
    image = listed[0]['image']['id']
    oldest_first = [s['id'] for s in reversed(listed)]
    blocks = seed.split('\n\n')
    is_server = [b.lstrip().startswith('[[servers]]') for b in blocks]
    servers = [b for b, s in zip(blocks, is_server) if s]

    def position(block):
        sid = re.search(r'^id = "([^"]+)"', block, re.M).group(1)
        return oldest_first.index(sid) if sid in oldest_first else -1

    servers.sort(key=position)
    servers = [b.rstrip('\n') + '\nimage = "%s"' % image for b in servers]
    first = is_server.index(True)
    rest = [b for b, s in zip(blocks, is_server) if not s]
    return '\n\n'.join(rest[:first] + servers + rest[first:])

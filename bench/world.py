#!/usr/bin/env python3
"""Seed worlds for bench/run, in porthole's seed format.

    bench/world.py small   DIR            DIR/seed.toml
    bench/world.py million DIR [--chunk N] DIR/seed.toml and DIR/chunk-NNN.json

Both worlds hold the same benchmark corner, with fixed ids:
  - project PROJECT, server SERVER (active) with 2 attached ports (what `list`
    returns, like the ceiling's 2 entries; `show` GETs the first),
  - network NETWORK with one /16 subnet (172.16.0.0/16), where `netcycle`
    attaches by net_id,
  - FREE_PORTS free ports on NETWORK with fixed ids, written to
    DIR/cycle-ports.txt (the `cycle` scenario attaches them by port_id:
    porthole only accepts ports it knows).
`million` adds filler up to 1,000,000 ports, 100,000 servers and 10,000
networks (100 projects; 9,999 networks with a /24 each; 9 ports attached to
each filler server, the rest free). Every port's id, MAC and fixed IP is
explicit, so seeding allocates nothing. The chunk files are the same world as
JSON seed documents (`POST /_porthole/seed?mode=add`, in order): the first
holds every server, network and subnet, the rest only ports.
DIR/world.env holds the ids for bench/run (shell syntax).
"""

import json
import os
import sys

PROJECT = "6f70656e737461636b20342065766572"
SERVER = "be0c0000-0000-4000-8000-000000000001"
NETWORK = "be0c0000-0000-4000-8000-0000000000a1"
SUBNET = "be0c0000-0000-4000-8000-0000000000b1"
FREE_PORTS = 140

N_PORTS = 1_000_000
N_SERVERS = 100_000
N_NETWORKS = 10_000
N_PROJECTS = 100
PORTS_PER_SERVER = 9


def uid(kind, i):
    """A fixed, valid UUID (version 4 layout) per kind and index."""
    return f"{kind:08x}-{(i >> 48) & 0xFFFF:04x}-4{(i >> 36) & 0xFFF:03x}-8{(i >> 24) & 0xFFF:03x}-{i & 0xFFFFFF:012x}"


def mac(i):
    return f"fa:16:3e:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}"


def project(i):
    return PROJECT if i % N_PROJECTS == 0 else f"{0xbe0c0000 + i % N_PROJECTS:08x}" + "0" * 24


def bench_corner():
    """Servers, networks, subnets, ports of the benchmark corner; cycle port ids."""
    servers = [{"id": SERVER, "name": "bench", "project_id": PROJECT}]
    networks = [{"id": NETWORK, "name": "bench", "project_id": PROJECT}]
    subnets = [{
        "id": SUBNET, "network_id": NETWORK, "cidr": "172.16.0.0/16",
        "gateway_ip": "172.16.0.1",
        "allocation_pools": [{"start": "172.16.0.2", "end": "172.16.255.254"}],
    }]
    ports, cycle = [], []
    for k in range(2 + FREE_PORTS):
        host = 2 + k
        port = {
            "id": uid(0xbe0c0001, k), "network_id": NETWORK, "project_id": PROJECT,
            "mac_address": mac(0xF00000 + k),
            "fixed_ips": [{"subnet_id": SUBNET, "ip_address": f"172.16.{host >> 8}.{host & 0xFF}"}],
        }
        if k < 2:
            port["device_id"] = SERVER
        else:
            cycle.append(port["id"])
        ports.append(port)
    return servers, networks, subnets, ports, cycle


def filler():
    """Servers, networks, subnets, then a generator of ports, up to the million world."""
    servers = [{"id": uid(0x5e000000, j), "name": f"vm-{j}", "project_id": project(j)}
               for j in range(1, N_SERVERS)]
    networks, subnets = [], []
    for k in range(1, N_NETWORKS):
        networks.append({"id": uid(0x4e000000, k), "name": f"net-{k}", "project_id": project(k)})
        subnets.append({"id": uid(0x5b000000, k), "network_id": uid(0x4e000000, k),
                        "cidr": f"10.{k >> 8}.{k & 0xFF}.0/24", "gateway_ip": f"10.{k >> 8}.{k & 0xFF}.1"})
    n_filler = N_PORTS - 2 - FREE_PORTS
    n_bound = (N_SERVERS - 1) * PORTS_PER_SERVER

    def ports():
        used = [0] * N_NETWORKS
        for i in range(n_filler):
            k = 1 + i % (N_NETWORKS - 1)
            host = 2 + used[k]
            used[k] += 1
            port = {"id": uid(0x90000000, i), "network_id": uid(0x4e000000, k),
                    "project_id": project(k), "mac_address": mac(i),
                    "fixed_ips": [{"subnet_id": uid(0x5b000000, k),
                                   "ip_address": f"10.{k >> 8}.{k & 0xFF}.{host}"}]}
            if i < n_bound:
                j = 1 + i // PORTS_PER_SERVER
                port["device_id"] = uid(0x5e000000, j)
                port["project_id"] = project(j)
            yield port
    return servers, networks, subnets, ports


def toml_value(v):
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return str(v)


def toml_tables(out, name, entries):
    for e in entries:
        out.write(f"[[{name}]]\n")
        for k, v in e.items():
            out.write(f"{k} = {toml_value(v)}\n")
        out.write("\n")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("small", "million"):
        sys.exit(__doc__)
    world, out_dir = sys.argv[1], sys.argv[2]
    chunk = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--chunk" else 100_000
    os.makedirs(out_dir, exist_ok=True)
    servers, networks, subnets, ports, cycle = bench_corner()
    with open(os.path.join(out_dir, "cycle-ports.txt"), "w") as f:
        f.write("\n".join(cycle) + "\n")
    with open(os.path.join(out_dir, "world.env"), "w") as f:
        f.write(f"PROJECT={PROJECT}\nSERVER={SERVER}\nNETWORK={NETWORK}\nSHOW_PORT={ports[0]['id']}\n")
    more_ports = iter(())
    if world == "million":
        s, n, sn, more = filler()
        servers += s
        networks += n
        subnets += sn
        more_ports = more()
    with open(os.path.join(out_dir, "seed.toml"), "w") as f:
        f.write(f"# porthole benchmark world '{world}' (bench/world.py)\n\n")
        toml_tables(f, "servers", servers)
        toml_tables(f, "networks", networks)
        toml_tables(f, "subnets", subnets)
        toml_tables(f, "ports", ports)
        if world == "million":
            # The filler ports, also into JSON chunks for the control plane.
            more_ports = list(more_ports)
            toml_tables(f, "ports", more_ports)
    if world == "million":
        all_ports = ports + more_ports
        first = {"servers": servers, "networks": networks, "subnets": subnets, "ports": []}
        docs = [first] + [{"ports": all_ports[i:i + chunk]} for i in range(0, len(all_ports), chunk)]
        for n, doc in enumerate(docs):
            with open(os.path.join(out_dir, f"chunk-{n:03d}.json"), "w") as f:
                json.dump(doc, f, separators=(",", ":"))
    total = len(ports) + (len(more_ports) if world == "million" else 0)
    print(f"world {world}: {len(servers)} servers, {len(networks)} networks, {total} ports -> {out_dir}")


if __name__ == "__main__":
    main()

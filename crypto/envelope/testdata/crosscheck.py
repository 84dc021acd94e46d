#!/usr/bin/env python3
"""Independent check of docs/vectors/envelopes.json (not run by go test).

A from-the-specification implementation of what another client (the
TypeScript SDK) must do with the vectors: derive the key hierarchy
(HKDF-SHA256, RFC 9180 DeriveKeyPair for X-Wing), open command and query
envelopes (X-Wing decapsulation, the RFC 9180 key schedule, AES-256-GCM
with the 18-byte header as associated data), decode the signed call or
request, verify ed25519 signatures, open responses with the Oblivious
HTTP-style key schedule, and open the key deliveries (master-key handover,
contract key). It shares no code with the Go implementation.

Needs Python 3.11+ and pyca/cryptography >= 47 (ML-KEM). sr25519
signatures are not verified here (no schnorrkel in pyca).

    python3 crypto/envelope/testdata/crosscheck.py docs/vectors/envelopes.json
"""
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + t, i + 1
    return out[:n]


# --- X-Wing (draft-connolly-cfrg-xwing-kem, HPKE KEM 0x647A) -------------
XWING_LABEL = b"\\.//^\\"
KEM_ID, KDF_ID, AEAD_ID = 0x647A, 0x0001, 0x0002


def xwing_keys(seed):
    e = hashlib.shake_256(seed).digest(96)
    dk = mlkem.MLKEM768PrivateKey.from_seed_bytes(e[:64])
    sk_x = x25519.X25519PrivateKey.from_private_bytes(e[64:96])
    pk_m = dk.public_key().public_bytes(*RAW)
    pk_x = sk_x.public_key().public_bytes(*RAW)
    return dk, sk_x, pk_m + pk_x


def xwing_derive_key_pair(ikm):
    # RFC 9180 DeriveKeyPair with the one-stage SHAKE256 LabeledDerive of
    # draft-ietf-hpke-pq.
    suite = b"KEM" + struct.pack(">H", KEM_ID)
    label = b"DeriveKeyPair"
    data = ikm + b"HPKE-v1" + suite + struct.pack(">H", len(label)) + label + struct.pack(">H", 32)
    return hashlib.shake_256(data).digest(32)


def xwing_decap(seed, enc):
    dk, sk_x, pk = xwing_keys(seed)
    ct_m, ct_x = enc[:1088], enc[1088:]
    ss_m = dk.decapsulate(ct_m)
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk[1184:] + XWING_LABEL).digest()


# --- RFC 9180 key schedule, base mode, HKDF-SHA256 ------------------------
SUITE = b"HPKE" + struct.pack(">HHH", KEM_ID, KDF_ID, AEAD_ID)


def labeled_extract(salt, label, ikm):
    return extract(salt, b"HPKE-v1" + SUITE + label + ikm)


def labeled_expand(prk, label, info, n):
    return expand(prk, struct.pack(">H", n) + b"HPKE-v1" + SUITE + label + info, n)


def key_schedule(shared, info):
    ctx = b"\x00" + labeled_extract(b"", b"psk_id_hash", b"") + labeled_extract(b"", b"info_hash", info)
    secret = labeled_extract(shared, b"secret", b"")
    return (labeled_expand(secret, b"key", ctx, 32), labeled_expand(secret, b"base_nonce", ctx, 12),
            labeled_expand(secret, b"exp", ctx, 32))


def open_envelope(seed, env, info):
    """Returns (plaintext, exporter_secret, enc) or raises."""
    if len(env) < 18:
        raise ValueError("truncated")
    version, kind, kem, kdf, aead = struct.unpack(">BBHHH", env[:8])
    if version != 1:
        raise ValueError("version")
    if (kem, kdf, aead) != (KEM_ID, KDF_ID, AEAD_ID):
        raise ValueError("unknown suite")
    _, _, pk = xwing_keys(seed)
    if env[8:16] != hashlib.sha256(pk).digest()[:8]:
        raise ValueError("wrong recipient")
    (enc_len,) = struct.unpack(">H", env[16:18])
    if enc_len != 1120 or len(env) < 18 + 1120 + 16:
        raise ValueError("malformed/truncated")
    enc, ct = env[18:18 + 1120], env[18 + 1120:]
    key, nonce, exp = key_schedule(xwing_decap(seed, enc), info)
    return AESGCM(key).decrypt(nonce, ct, env[:18]), exp, enc


def export(exp_secret, ctx, n):
    return labeled_expand(exp_secret, b"sec", ctx, n)


class Reader:
    def __init__(self, b):
        self.b = b

    def take(self, n):
        if len(self.b) < n:
            raise ValueError("short")
        out, self.b = self.b[:n], self.b[n:]
        return out


def decode(pt, query):
    r = Reader(pt)
    scheme, caller, contract = r.take(1)[0], r.take(32), r.take(32)
    if query:
        nonce, expiry = r.take(16), struct.unpack(">Q", r.take(8))[0]
    else:
        nonce, expiry = struct.unpack(">Q", r.take(8))[0], None
    method = r.take(struct.unpack(">H", r.take(2))[0])
    args = r.take(struct.unpack(">I", r.take(4))[0])
    sig = r.take(64)
    if r.b:
        raise ValueError("trailing bytes")
    return dict(scheme=scheme, caller=caller, contract=contract, nonce=nonce, expiry=expiry,
                method=method.decode(), args=args, encoded=pt[:-64], sig=sig)


def main(path):
    v = json.load(open(path))
    h = bytes.fromhex
    ok = 0

    def eq(what, got, want):
        nonlocal ok
        if got != want:
            raise SystemExit(f"MISMATCH {what}")
        ok += 1

    kh = v["key_hierarchy"]
    prk = extract(v["domains"]["key_hierarchy_salt"].encode(), h(kh["master_secret"]))
    for k in (kh["master"]["hpke"], kh["contract"]["hpke"]):
        eq(k["label"] + " ikm", expand(prk, k["label"].encode(), 32).hex(), k["derive_key_pair_ikm"])
    for k in (kh["master"]["hpke"], kh["contract"]["hpke"], v["worker"]):
        seed = xwing_derive_key_pair(h(k["derive_key_pair_ikm"]))
        eq("X-Wing seed", seed.hex(), k["private_key"])
        eq("X-Wing public key", xwing_keys(seed)[2].hex(), k["public_key"])
    c = kh["contract"]
    for lab, key in (("state_label", "state_key"), ("random_label", "random_seed"), ("signing_label", "signing_seed")):
        eq(lab, expand(prk, c[lab].encode(), 32).hex(), c[key])
    pub = ed25519.Ed25519PrivateKey.from_private_bytes(h(c["signing_seed"])).public_key().public_bytes(*RAW)
    eq("contract signing key", pub.hex(), c["signing_public_key"])
    eq("cluster secret", expand(prk, kh["cluster"]["label"].encode(), 32).hex(), kh["cluster"]["secret"])

    def verify_ed25519(caller, msg, sig):
        ed25519.Ed25519PublicKey.from_public_bytes(caller).verify(sig, msg)  # raises if invalid

    cseed = h(c["hpke"]["private_key"])
    for cv in v["commands"]:
        info = v["domains"]["command_info_prefix"].encode() + h(c["id"])
        pt, _, _ = open_envelope(cseed, h(cv["envelope"]), info)
        eq(cv["name"] + " plaintext", pt.hex(), cv["plaintext"])
        d = decode(pt, query=False)
        eq(cv["name"] + " fields", (d["method"], d["args"].hex(), str(d["nonce"])), (cv["method"], cv["args"], cv["nonce"]))
        msg = v["domains"]["call_signing_domain"].encode() + d["encoded"]
        eq(cv["name"] + " signing message", msg.hex(), cv["signing_message"])
        if d["scheme"] == 2:
            verify_ed25519(d["caller"], msg, d["sig"])
    wseed = h(v["worker"]["private_key"])
    for qv in v["queries"]:
        pt, exp, enc = open_envelope(wseed, h(qv["envelope"]), v["domains"]["query_info"].encode())
        eq(qv["name"] + " plaintext", pt.hex(), qv["plaintext"])
        d = decode(pt, query=True)
        eq(qv["name"] + " fields", (d["method"], d["nonce"].hex(), d["expiry"]), (qv["method"], qv["nonce"], qv["expiry"]))
        msg = (v["domains"]["query_signing_domain"].encode() + h(v["worker"]["public_key_sha256"]) + d["encoded"])
        eq(qv["name"] + " signing message", msg.hex(), qv["signing_message"])
        if d["scheme"] == 2:
            verify_ed25519(d["caller"], msg, d["sig"])
        secret = export(exp, v["domains"]["response_export_label"].encode(), 32)
        eq(qv["name"] + " response secret", secret.hex(), qv["response_secret"])
        resp = h(qv["response"])
        rprk = extract(enc + resp[2:34], secret)
        key, nonce = expand(rprk, b"key", 32), expand(rprk, b"nonce", 12)
        eq(qv["name"] + " response key", (key.hex(), nonce.hex()), (qv["response_key"], qv["response_aead_nonce"]))
        eq(qv["name"] + " response", AESGCM(key).decrypt(nonce, resp[34:], resp[:2]).hex(), qv["response_plaintext"])
    # Key deliveries: master-key handover and contract key, sealed to the
    # worker key with info binding recipient identity (and contract, epoch).
    d = v["deliveries"]
    rcpt = h(d["recipient_identity"])
    hv = d["master_key_handover"]
    info = v["domains"]["master_key_handover_info_prefix"].encode() + rcpt + struct.pack(">Q", hv["latest_epoch"])
    eq("handover info", info.hex(), hv["info"])
    pt, _, _ = open_envelope(wseed, h(hv["envelope"]), info)
    eq("handover plaintext", pt.hex(), hv["plaintext"])
    (count,) = struct.unpack(">I", pt[:4])
    entries = [(struct.unpack(">Q", pt[4 + 40 * i:12 + 40 * i])[0], pt[12 + 40 * i:44 + 40 * i].hex()) for i in range(count)]
    eq("handover length", len(pt), 4 + 40 * count)
    eq("handover entries", entries, [(e["epoch"], e["secret"]) for e in hv["entries"]])
    eq("handover latest epoch", entries[-1][0], hv["latest_epoch"])
    cv = d["contract_key"]
    info = (v["domains"]["contract_key_info_prefix"].encode() + h(cv["contract_id"]) + rcpt + struct.pack(">Q", cv["epoch"]))
    eq("contract key info", info.hex(), cv["info"])
    pt, _, _ = open_envelope(wseed, h(cv["envelope"]), info)
    eq("contract key plaintext", pt.hex(), cv["plaintext"])
    eq("contract key secrets", (pt[:32].hex(), pt[32:64].hex(), pt[64:96].hex(), pt[96:].hex()),
       (expand(prk, c["hpke"]["label"].encode(), 32).hex(), c["state_key"], c["random_seed"], c["signing_seed"]))
    eq("contract key hpke public key", xwing_keys(xwing_derive_key_pair(pt[:32]))[2].hex(), c["hpke"]["public_key"])
    print(f"ok: {ok} checks, {len(v['commands'])} commands, {len(v['queries'])} queries, 2 deliveries")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/vectors/envelopes.json")

// Keys and SS58, against the vectors the Go side is pinned to
// (crypto/keys/keys_test.go, crypto/ss58/ss58_test.go, docs/keys.md):
// Substrate's dev accounts, sp-core and subkey outputs, BIP39 reference
// vectors, junction encodings, RFC 8032 and a ZIP-215 small-order case.

import { describe, expect, it } from 'vitest';
import { blake2b } from '@noble/hashes/blake2.js';
import * as sr25519 from '@scure/sr25519';
import {
  AddressError,
  DEV_ACCOUNTS,
  DEV_PHRASE,
  KeyError,
  decodeAddress,
  encodeAddress,
  fromHex,
  generatePhrase,
  isValidAddress,
  parseScheme,
  signerFromUri,
  toHex,
  validatePhrase,
  verifySignature,
  accountId,
  type Scheme,
} from '../src/index.js';
import { junctionChainCode, phraseFromEntropy, scaleCompact, seedFromUri } from '../src/keys.js';
import { base58 } from '@scure/base';
import { concatBytes, utf8 } from '../src/bytes.js';

const pubHex = (uri: string, scheme: Scheme = 'sr25519') => '0x' + toHex(signerFromUri(uri, scheme).publicKey);
const addr = (uri: string, scheme: Scheme = 'sr25519') => encodeAddress(signerFromUri(uri, scheme).publicKey, 42);

describe('dev accounts (docs/keys.md, keys_test.go TestDevAccounts)', () => {
  const cases: [string, Scheme, string, string][] = [
    ['//Alice', 'sr25519', '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d'],
    ['//Bob', 'sr25519', '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty', '0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48'],
    ['//Charlie', 'sr25519', '5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y', ''],
    ['//Dave', 'sr25519', '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy', ''],
    ['//Eve', 'sr25519', '5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw', ''],
    ['//Ferdie', 'sr25519', '5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL', ''],
    ['//Alice//stash', 'sr25519', '5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY', '0xbe5ddb1579b72e84524fc29e78609e3caf42e85aa118ebfe0b0ad404b5bdd25f'],
    ['//Bob//stash', 'sr25519', '5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc', ''],
    ['//Charlie//stash', 'sr25519', '5Ck5SLSHYac6WFt5UZRSsdJjwmpSZq85fd5TRNAdZQVzEAPT', ''],
    [DEV_PHRASE + '//Alice', 'sr25519', '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', ''],
    [DEV_PHRASE, 'sr25519', '5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV', ''],
    [DEV_PHRASE + '/Alice', 'sr25519', '', '0xd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e'],
    ['/Alice', 'sr25519', '', '0xd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e'],
    ['//Alice', 'ed25519', '5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu', '0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee'],
    ['//Bob', 'ed25519', '5GoNkf6WdbxCFnPdAnYYQyCjAKPJgLNxXwPjwTh6DGg6gN3E', ''],
    ['//Charlie', 'ed25519', '5DbKjhNLpqX3zqZdNBc9BGb4fHU1cRBaDhJUskrvkwfraDi6', ''],
  ];
  for (const [uri, scheme, address, pub] of cases) {
    it(`${scheme} ${uri.replace(DEV_PHRASE, 'DEV_PHRASE')}`, () => {
      const s = signerFromUri(uri, scheme);
      expect(s.scheme).toBe(scheme);
      if (address) expect(encodeAddress(s.publicKey)).toBe(address);
      if (pub) expect('0x' + toHex(s.publicKey)).toBe(pub);
    });
  }

  it('DEV_ACCOUNTS lists Alice..Ferdie as //Name', () => {
    expect(DEV_ACCOUNTS.map((a) => a.name)).toEqual(['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']);
    expect(DEV_ACCOUNTS.map((a) => a.uri)).toEqual(['//Alice', '//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie']);
    expect(addr(DEV_ACCOUNTS[1].uri)).toBe('5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty');
  });

  it('default scheme is sr25519', () => {
    expect(signerFromUri('//Alice').scheme).toBe('sr25519');
    expect(addr('//Alice')).toBe('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY');
  });
});

describe('Substrate vectors (keys_test.go TestSubstrateVectors)', () => {
  const seed32 = '0x' + toHex(utf8('12345678901234567890123456789012'));
  const cases: { name: string; uri: string; scheme: Scheme; seed?: string; pub?: string; addr?: string }[] = [
    {
      name: 'subkey readme phrase',
      uri: 'hotel forest jar hover kite book view eight stuff angle legend defense',
      scheme: 'sr25519',
      seed: '0xa05c75731970cc7868a2fb7cb577353cd5b31f62dccced92c441acd8fee0c92d',
      pub: '0xfec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515',
      addr: '5Hpm9fq3W3dQgwWpAwDS2ZHKAdnk86QRCu7iX4GnmDxycrte',
    },
    {
      name: 'subkey readme seed',
      uri: '0xa05c75731970cc7868a2fb7cb577353cd5b31f62dccced92c441acd8fee0c92d',
      scheme: 'sr25519',
      pub: '0xfec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515',
      addr: '5Hpm9fq3W3dQgwWpAwDS2ZHKAdnk86QRCu7iX4GnmDxycrte',
    },
    {
      name: 'subkey readme password',
      uri: 'soup lyrics media market way crouch elevator put moon useful question wide///extra_secret',
      scheme: 'sr25519',
      seed: '0xe7cfd179d6537a676cb94bac3b5c5c9cb1550e846ac4541040d077dfbac2e7fd',
      pub: '0xf6a233c3e1de1a2ae0486100b460b3ce3d7231ddfe9dadabbd35ab968c70905d',
      addr: '5He5pZpc7AJ8evPuab37vJF6KkFDqq9uDq2WXh877Qw6iaVC',
    },
    {
      name: 'subkey readme no password',
      uri: 'soup lyrics media market way crouch elevator put moon useful question wide',
      scheme: 'sr25519',
      addr: '5Fe4sqj2K4fRuzEGvToi4KATqZfiDU7TqynjXG6PZE2dxwyh',
    },
    {
      name: 'subkey gist phrase',
      uri: 'favorite liar zebra assume hurt cage any damp inherit rescue delay panic',
      scheme: 'sr25519',
      seed: '0x235c69907d33b85f27bd78e73ff5d0c67bd4894515cc30c77f4391859bc1a3f2',
      pub: '0x6ce96ae5c300096b09dbd4567b0574f6a1281ae0e5cfe4f6b0233d1821f6206b',
      addr: '5EXWNJuoProc7apm1JS8m9RTqV3vVwR9dCg6sQVpKnoHtJ68',
    },
    {
      name: 'sp-core sr test vector',
      uri: '0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      scheme: 'sr25519',
      pub: '0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f',
    },
    { name: 'sp-core sr seeded pair', uri: seed32, scheme: 'sr25519', pub: '0x741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63' },
    {
      name: 'sp-core ed test vector (RFC 8032 test 1)',
      uri: '0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      scheme: 'ed25519',
      pub: '0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    },
    { name: 'sp-core ed seeded pair', uri: seed32, scheme: 'ed25519', pub: '0x2f8c6129d816cf51c374bc7f08c3e63ed156cf78aefb4a6550d97b87997977ee' },
    {
      name: 'seed ignores password',
      uri: '0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60///pw',
      scheme: 'ed25519',
      pub: '0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.seed) expect('0x' + toHex(seedFromUri(c.uri))).toBe(c.seed);
      const s = signerFromUri(c.uri, c.scheme);
      if (c.pub) expect('0x' + toHex(s.publicKey)).toBe(c.pub);
      if (c.addr) expect(encodeAddress(s.publicKey, 42)).toBe(c.addr);
    });
  }

  it('default phrase with password (sp-core default_phrase_should_be_used)', () => {
    expect(pubHex('//Alice///password')).toBe(pubHex(DEV_PHRASE + '//Alice///password'));
    expect(pubHex('//Alice///password')).not.toBe(pubHex('//Alice'));
    // An empty password is no password (salt "mnemonic").
    expect(addr('//Alice///')).toBe('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY');
  });
});

describe('derivation', () => {
  const seed = '0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

  it('soft derivation matches subkey /0 and /1 (public derivation, numeric junctions)', () => {
    const { publicKey, prefix } = decodeAddress('12mzv68gS8Zu2iEdt4Ktkt48JZSKyFSkAVjvtgYhoa42NLNa');
    expect(prefix).toBe(0);
    expect(toHex(sr25519.HDKD.publicSoft(publicKey, junctionChainCode('0')))).toBe('40f22875159420aca51178d1baf2912c18dcb83737dd7bd39dc6743da326dd1c');
    expect(toHex(sr25519.HDKD.publicSoft(publicKey, junctionChainCode('1')))).toBe('c62ec5cd7d83e1f41462d455bb47b6bad9ed5a14741a920ead8366c63746391b');
  });

  it('secret-side soft derivation equals public-side (sp-core derive_soft_public_should_work)', () => {
    const root = signerFromUri(seed).publicKey;
    for (const path of ['1', 'DOT', '0123456789012345678901234567890123456789']) {
      const want = sr25519.HDKD.publicSoft(root, junctionChainCode(path));
      expect(toHex(signerFromUri(`${seed}/${path}`).publicKey)).toBe(toHex(want));
    }
  });

  for (const scheme of ['sr25519', 'ed25519'] as Scheme[]) {
    it(`${scheme}: hard derivation is deterministic, u64 junctions follow Rust parsing`, () => {
      const h1 = pubHex(seed + '//1', scheme);
      expect(pubHex(seed + '//1', scheme)).toBe(h1);
      expect(pubHex(seed + '//2', scheme)).not.toBe(h1);
      expect(pubHex(seed + '//+1', scheme)).toBe(h1);
      expect(pubHex(seed + '//001', scheme)).toBe(h1);
      expect(pubHex(seed + '//x1', scheme)).not.toBe(h1);
    });
  }

  it('soft and hard junctions differ; ed25519 refuses soft junctions', () => {
    expect(pubHex(seed + '/1')).not.toBe(pubHex(seed + '//1'));
    expect(() => signerFromUri(seed + '/1', 'ed25519')).toThrow(/only hard \(\/\/\) derivation/);
    expect(() => signerFromUri('//Alice/soft', 'ed25519')).toThrow(KeyError);
  });

  it('junction chain codes (keys_test.go TestJunctionEncoding)', () => {
    const pad = (...b: number[]) => {
      const cc = new Uint8Array(32);
      cc.set(b);
      return toHex(cc);
    };
    const hashOrPad = (enc: Uint8Array) => (enc.length > 32 ? toHex(blake2b(enc, { dkLen: 32 })) : pad(...enc));
    const long = '0123456789012345678901234567890123456789';
    const long32 = 'a'.repeat(31);
    const long33 = 'a'.repeat(32);
    const cases: [string, string][] = [
      ['0', pad()],
      ['1', pad(1)],
      ['+1', pad(1)],
      ['256', pad(0, 1)],
      ['18446744073709551615', pad(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
      ['18446744073709551616', hashOrPad(concatBytes(new Uint8Array([20 << 2]), utf8('18446744073709551616')))],
      ['-1', pad(2 << 2, 45, 49)],
      ['+', pad(1 << 2, 43)],
      ['DOT', pad(3 << 2, 68, 79, 84)],
      ['Alice', pad(5 << 2, ...utf8('Alice'))],
      [long, hashOrPad(concatBytes(new Uint8Array([40 << 2]), utf8(long)))],
      [long32, pad(31 << 2, ...utf8(long32))],
      [long33, hashOrPad(concatBytes(new Uint8Array([32 << 2]), utf8(long33)))],
    ];
    for (const [code, want] of cases) expect(toHex(junctionChainCode(code)), code).toBe(want);
  });

  it('SCALE compact (keys_test.go TestCompact)', () => {
    const cases: [bigint, string][] = [
      [0n, '00'],
      [1n, '04'],
      [63n, 'fc'],
      [64n, '0101'],
      [16383n, 'fdff'],
      [16384n, '02000100'],
      [(1n << 30n) - 1n, 'feffffff'],
      [1n << 30n, '0300000040'],
      [(1n << 64n) - 1n, '13ffffffffffffffff'],
    ];
    for (const [n, want] of cases) expect(toHex(scaleCompact(n))).toBe(want);
  });
});

describe('secret URI grammar and errors', () => {
  it('accepts what Substrate accepts', () => {
    // Grammar cases of keys_test.go TestParseURI that name a usable key.
    expect(pubHex('///')).toBe(pubHex(DEV_PHRASE));
    expect(pubHex('////////')).toBe(pubHex(DEV_PHRASE + '///' + '/////'));
    expect(pubHex(DEV_PHRASE + '/xx//a/b//c///pass')).toBe(pubHex('/xx//a/b//c///pass'));
    expect(pubHex('//Alice///pass/with//slashes')).not.toBe(pubHex('//Alice'));
  });

  const bad: [string, Scheme, RegExp][] = [
    ['', 'sr25519', /invalid secret URI: empty/],
    ['a'.repeat(4097), 'sr25519', /longer than 4096 bytes/],
    ['0x1234', 'sr25519', /invalid hex seed: want 0x followed by 64 hex digits, got 4 digits/],
    ['0x' + 'zz'.repeat(32), 'sr25519', /invalid hex seed: not hex/],
    ['0x' + '00'.repeat(33), 'ed25519', /invalid hex seed/],
    ['hello world', 'sr25519', /invalid BIP39 phrase: 2 words/],
    ['bottom drive obey lake curtain smoke basket hold race lonely fit', 'sr25519', /11 words/],
    ['bottom drive obey lake curtain smoke basket hold race lonely walk fit', 'sr25519', /checksum mismatch/],
    ['Bottom drive obey lake curtain smoke basket hold race lonely fit walk', 'sr25519', /word 1 is not in the English BIP39 wordlist/],
    ['bottom drive obey lake curtain smoke basket hold race lonely fit walk!', 'sr25519', /unexpected character at byte 69/],
    ['sdasd//', 'sr25519', /empty hard junction at byte 5/],
    ['sdasd/', 'sr25519', /empty soft junction/],
    ['sd.asd', 'sr25519', /unexpected character at byte 2/],
    ['///\n', 'sr25519', /newline in password/],
    ['café', 'sr25519', /unexpected character/],
    ['tab\tseparated', 'sr25519', /unexpected character/],
  ];
  for (const [uri, scheme, re] of bad) {
    it(`refuses ${JSON.stringify(uri.slice(0, 40))} (${scheme})`, () => {
      expect(() => signerFromUri(uri, scheme)).toThrow(KeyError);
      expect(() => signerFromUri(uri, scheme)).toThrow(re);
    });
  }

  it('refuses unknown schemes', () => {
    expect(() => signerFromUri('//Alice', 'ecdsa' as Scheme)).toThrow(/unknown signature scheme "ecdsa"/);
    expect(parseScheme(' ED25519 ')).toBe('ed25519');
    expect(() => parseScheme('sr')).toThrow(KeyError);
    // Arguments swapped from plain JS: the URI lands in the scheme and must not be echoed.
    const swapped = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk//hunter2secret';
    expect(() => signerFromUri('sr25519', swapped as Scheme)).toThrow(/unknown signature scheme \(not a scheme name\)/);
    expect(() => parseScheme(swapped)).toThrow(/unknown signature scheme \(not a scheme name\)/);
  });

  it('errors never contain the secret (keys_test.go TestErrorsDoNotLeakSecrets)', () => {
    for (const uri of [
      'bottom drive obey lake curtain smoke basket hold race lonely fit wallk',
      'bottom drive obey lake curtain smoke basket hold race lonely walk fit///hunter2secret',
      '0xdeadbeefcafe///hunter2secret',
      'secretword$//x',
    ]) {
      let msg = '';
      try {
        signerFromUri(uri);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).not.toBe('');
      for (const w of ['lonely', 'wallk', 'walk', 'hunter2secret', 'deadbeef', 'secretword']) expect(msg).not.toContain(w);
    }
  });

  it('a signer does not reveal its secret when printed or serialized', () => {
    const seedHex = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
    for (const scheme of ['sr25519', 'ed25519'] as Scheme[]) {
      const s = signerFromUri('0x' + seedHex, scheme);
      const shown = [JSON.stringify(s), String(s), JSON.stringify({ s }), Object.keys(s).join(',')].join(' ');
      expect(shown).not.toContain(seedHex);
      expect(shown).toContain(scheme);
    }
  });

  it('wipe makes a signer unusable', () => {
    const s = signerFromUri('//Alice');
    s.sign(utf8('x'));
    s.wipe();
    expect(() => s.sign(utf8('x'))).toThrow(/wiped/);
    expect(encodeAddress(s.publicKey)).toBe('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY');
  });
});

describe('signatures', () => {
  it('verifies subkey’s sr25519 signature over "hello" (subkey README)', () => {
    const pub = fromHex('fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515');
    const sig = fromHex(
      '9201af3788ad4f986b800853c79da47155f2e08fde2070d866be4c27ab060466fea0623dc2b51f4392f4c61f25381a62848dd66c5d8217fae3858e469ebd668c',
    );
    expect(verifySignature('sr25519', pub, utf8('hello'), sig)).toBe(true);
    expect(verifySignature('sr25519', pub, utf8('hello\n'), sig)).toBe(false);
    const bad = sig.slice();
    bad[10] ^= 1;
    expect(verifySignature('sr25519', pub, utf8('hello'), bad)).toBe(false);
  });

  it('rejects unmarked sr25519 signatures (sp-core vectors)', () => {
    const zero = signerFromUri('0x' + '00'.repeat(32)).publicKey;
    const sig1 = fromHex(
      '28a854d54903e056f89581c691c1f7d2ff39f8f896c9e9c22475e60902cc2b3547199e0e91fa32902028f2ca2355e8cdd16cfe19ba5e8b658c94aa80f3b81a00',
    );
    expect(verifySignature('sr25519', zero, utf8('SUBSTRATE'), sig1)).toBe(false);
    const pub = fromHex('b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918');
    const sig2 = fromHex(
      '5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202',
    );
    expect(
      verifySignature('sr25519', pub, utf8('Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n'), sig2),
    ).toBe(false);
  });

  it('signs RFC 8032 test 1 exactly (ed25519, deterministic)', () => {
    const s = signerFromUri('0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'ed25519');
    const sig = s.sign(new Uint8Array());
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(verifySignature('ed25519', s.publicKey, new Uint8Array(), sig)).toBe(true);
  });

  it('accepts the ZIP-215 small-order vector (keys_test.go TestEd25519ZIP215)', () => {
    const pub = fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
    const sig = concatBytes(fromHex('0100000000000000000000000000000000000000000000000000000000000000'), new Uint8Array(32));
    // [8]([S]B - R - [k]A) is the identity for every message: ZIP-215 accepts all.
    for (let i = 0; i < 4; i++) expect(verifySignature('ed25519', pub, utf8(`zip215 ${i}`), sig)).toBe(true);
  });

  for (const scheme of ['sr25519', 'ed25519'] as Scheme[]) {
    it(`${scheme}: sign/verify round trip, tampering and wrong keys fail`, () => {
      const msg = utf8('veil/test/v1\u0000transfer 10 to bob');
      const s = signerFromUri('//Alice', scheme);
      const other = signerFromUri('//Bob', scheme).publicKey;
      const sig = s.sign(msg);
      expect(sig.length).toBe(64);
      expect(verifySignature(scheme, s.publicKey, msg, sig)).toBe(true);
      const tampered = msg.slice();
      tampered[tampered.length - 1] ^= 1;
      expect(verifySignature(scheme, s.publicKey, tampered, sig)).toBe(false);
      for (const i of [0, 31, 32, 62]) {
        const bad = sig.slice();
        bad[i] ^= 4;
        expect(verifySignature(scheme, s.publicKey, msg, bad)).toBe(false);
      }
      expect(verifySignature(scheme, other, msg, sig)).toBe(false);
      expect(verifySignature(scheme === 'sr25519' ? 'ed25519' : 'sr25519', s.publicKey, msg, sig)).toBe(false);
      expect(verifySignature(scheme, s.publicKey, msg, sig.subarray(0, 63))).toBe(false);
    });
  }

  it('sr25519 signatures are randomized and carry the schnorrkel marker', () => {
    const s = signerFromUri('//Alice');
    const a = s.sign(utf8('m'));
    const b = s.sign(utf8('m'));
    expect(toHex(a)).not.toBe(toHex(b));
    expect(a[63] & 0x80).toBe(0x80);
  });
});

describe('BIP39 (keys_test.go TestPhrases)', () => {
  const vectors: [string, string][] = [
    ['00000000000000000000000000000000', 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'],
    ['7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f', 'legal winner thank year wave sausage worth useful legal winner thank yellow'],
    ['80808080808080808080808080808080', 'letter advice cage absurd amount doctor acoustic avoid letter advice cage above'],
    ['ffffffffffffffffffffffffffffffff', 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong'],
    ['000000000000000000000000000000000000000000000000', 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon agent'],
    [
      '0000000000000000000000000000000000000000000000000000000000000000',
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art',
    ],
    [
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote',
    ],
    ['9e885d952ad362caeb4efe34a8e91bd2', 'ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic'],
  ];
  it('encodes the reference vectors', () => {
    for (const [ent, phrase] of vectors) expect(phraseFromEntropy(fromHex(ent))).toBe(phrase);
  });
  it('validates the reference vectors with any spacing', () => {
    for (const [, phrase] of vectors) expect(() => validatePhrase('  ' + phrase.replace(/ /g, ' \t ') + '\n')).not.toThrow();
  });
  it('generates usable phrases of every length', () => {
    for (const n of [12, 15, 18, 21, 24]) {
      const p = generatePhrase(n);
      expect(p.split(' ')).toHaveLength(n);
      validatePhrase(p);
      signerFromUri(p + '//0');
    }
    expect(generatePhrase().split(' ')).toHaveLength(12);
    for (const n of [0, 11, 13, 27]) expect(() => generatePhrase(n)).toThrow(KeyError);
  });
  it('refuses a bad checksum', () => {
    expect(() => validatePhrase('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon')).toThrow(/checksum/);
  });
});

describe('SS58 (crypto/ss58 vectors)', () => {
  const vectors: [string, string, number, string][] = [
    ['alice sr25519', 'd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d', 42, '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY'],
    ['alice polkadot', 'd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d', 0, '15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5'],
    ['alice kusama', 'd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d', 2, 'HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F'],
    ['subkey readme', 'fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515', 42, '5Hpm9fq3W3dQgwWpAwDS2ZHKAdnk86QRCu7iX4GnmDxycrte'],
    ['subkey readme polkadot', 'fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515', 0, '16m4J167Mptt8UXL8aGSAi7U2FnPpPxZHPrCgMG9KJzVoFqM'],
    ['subkey readme kusama', 'fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515', 2, 'JLNozAv8QeLSbLFwe2UvWeKKE4yvmDbfGxTuiYkF2BUMx4M'],
    ['substrate default', '3050f8456519829fe03302da802d22d3233a5f4037b9a3e2bcc403ccfcb2d735', 42, '5DA4D4GL5iakrn22h5uKoevgvo18Pqj5BcdEUv8etEDPdijA'],
    ['aventus 65', '08e8969768fc14399930d4b8d693f68a2ff6c6a597325d6946095e5e9d9d1b0e', 65, 'cLtA6nCDyvwKcEHH4QkZDSHMhS9s78BvUJUsKUbUAn1Jc2SCF'],
    ['crust 66', '04a047d52fe542484c69bc528990cfeaf3a663dded0638ee1b51cf78bacd1072', 66, 'cTGShekJ1L1UKFZR9xmv9UTJod7vqjFAPo4sDhXih2c3y1yLS'],
    ['sora 69', 'ae640d53cfa815f4a6a50ae70235cd7d9d134d0f1c3a4ccd118e321dfb6ab51f', 69, 'cnVRwXfAnz3RSVQyBUC8f8McrK3YBX2QYd4WoctpeSC6VTJYm'],
    ['252', '5c64f1151f0ce4358c27238fb20c88e7c899825436f565410724c8c2c5add869', 252, 'xw5g1Eec8LT99pZLZMaTWwrwvNtfM6vrSuZeVbtEszCDUwByg'],
    ['255 a', '66cd6cf085627d6c85af1aaf2bd10cf843033e929b4e3b1c2ba8e4aa46fe111b', 255, 'yGF4JP7q5AK46d1FPCEm9sYQ4KooSjHMpyVAjLnsCSWVafPnf'],
    ['255 b', '242fd5a078ac6b7c3c2531e9bcf1314343782aeb58e7bc6880794589e701db55', 255, 'yGDYxQatQwuxqT39Zs4LtcTnpzE12vXb7ZJ6xpdiHv6gTu1hF'],
    ['4242', '44d5a3ac156335ea99d33a83c57c7146c40c8e2260a8a4adf4e7a86256454651', 4242, 'mHm8k9Emsvyfp3piCauSH684iA6NakctF8dySQcX94GDdrJrE'],
    ['14269', '88f01441682a17b52d6ae12d1a5670cf675fd254897efabaa5069eb3a701ab73', 14269, 'r6Gr4gaMP8TsjhFbqvZhv3YvnasugLiRJpzpRHifsqqG18UXa'],
  ];
  for (const [name, pub, prefix, address] of vectors) {
    it(name, () => {
      expect(encodeAddress(fromHex(pub), prefix)).toBe(address);
      const d = decodeAddress(address);
      expect(toHex(d.publicKey)).toBe(pub);
      expect(d.prefix).toBe(prefix);
      expect(isValidAddress(address)).toBe(true);
    });
  }

  it('round-trips every valid prefix', () => {
    const pub = fromHex('d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d');
    for (let p = 0; p <= 16383; p += p < 300 ? 1 : 97) {
      if (p === 46 || p === 47) continue;
      const d = decodeAddress(encodeAddress(pub, p));
      expect(d.prefix).toBe(p);
      expect(toHex(d.publicKey)).toBe(toHex(pub));
    }
  });

  it('rejects bad addresses with specific errors (ss58_test.go TestDecodeErrors)', () => {
    const alice = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
    const pub = fromHex('d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d');
    const withSum = (data: Uint8Array) => base58.encode(concatBytes(data, blake2b(concatBytes(utf8('SS58PRE'), data), { dkLen: 64 }).subarray(0, 2)));
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['5'.repeat(100), /100 characters/],
      ['5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut0Y', /character 47 \("0"\) is not base58/],
      ['F3opIRbN5ZbjJNU511Kj2TLuzFcDq9BGduA9TgiECafpg29', /character 5 \("I"\) is not base58/],
      ['5GrwvaéF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', /not base58/],
      ['5GoKvZWG5ZPYL1WUovuHW3zJBWBP5eT8CbqjdRY4Q6iMa9cj', /checksum mismatch/],
      ['5GoKvZWG5ZPYL1WUovuHW3zJBWBP5eT8CbqjdRY4Q6iMaDwU', /checksum mismatch/],
      [alice.slice(0, -1) + 'Z', /checksum mismatch/],
      ['y9EMHt34JJo4rWLSaxoLGdYXvjgSXEd4zHUnQgfNzwES8b', /bytes, an account address has/],
      [withSum(concatBytes(new Uint8Array([42]), pub.subarray(0, 31))), /34 bytes, an account address has 35/],
      ['F7NZ', /bytes/],
      ['1', /1 bytes/],
      [base58.encode(concatBytes(new Uint8Array([0x80]), new Uint8Array(35))), /not a network prefix/],
      [withSum(concatBytes(new Uint8Array([46]), pub)), /prefix 46 is reserved/],
      [withSum(concatBytes(new Uint8Array([0x40 | (42 >> 2), (42 & 3) << 6]), pub)), /prefix 42 written in the two-byte form/],
    ];
    for (const [a, re] of cases) {
      expect(() => decodeAddress(a), a).toThrow(AddressError);
      expect(() => decodeAddress(a), a).toThrow(re);
      expect(isValidAddress(a)).toBe(false);
    }
  });

  it('encodeAddress refuses bad keys and prefixes', () => {
    expect(() => encodeAddress(new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => encodeAddress(new Uint8Array(32), 46)).toThrow(/reserved/);
    expect(() => encodeAddress(new Uint8Array(32), 16384)).toThrow(/0\.\.16383/);
  });

  it('accountId takes SS58 or 0x hex and names the network mismatch', () => {
    const alice = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
    const hex = '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d';
    expect(toHex(accountId(alice, 42))).toBe(hex.slice(2));
    expect(toHex(accountId(hex, 42))).toBe(hex.slice(2));
    expect(() => accountId('15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5', 42)).toThrow(/SS58 prefix 0, this chain uses 42/);
    expect(() => accountId('0x1234')).toThrow(/2 bytes of hex, want 32/);
  });
});

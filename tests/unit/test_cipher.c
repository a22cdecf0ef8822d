/*
 * test_cipher.c - cipher classification (policy/cipher.c): suites found
 * in OpenSSL's table, suites this OpenSSL no longer has (classified from
 * their names), IANA names, garbage, the family names, and concurrent
 * first use.
 *
 * Rows state the exact family set, so a stray bit fails too. `known` is
 * ANY for suites a build may or may not still carry (3DES); the other
 * answers must not depend on which path classified them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ANY (-2)

#define check_int(row, what, got, want)                                        \
	do {                                                                   \
		long g_ = (long)(got), w_ = (long)(want);                      \
		if (w_ != ANY && g_ != w_)                                     \
			fail_msg("%s: %s = %ld, want %ld", (row), (what), g_,  \
				 w_);                                          \
	} while (0)

/* Short family names keep the rows on one screen. */
#define RC4 TLSP_CF_RC4
#define DES TLSP_CF_DES
#define DES3 TLSP_CF_3DES
#define CBC TLSP_CF_CBC
#define NUL TLSP_CF_NULL
#define EXP TLSP_CF_EXPORT
#define ANON TLSP_CF_ANON
#define MD5 TLSP_CF_MD5
#define SHA1 TLSP_CF_SHA1
#define AEAD TLSP_CF_AEAD
#define GCM TLSP_CF_GCM
#define CCM TLSP_CF_CCM
#define CHACHA TLSP_CF_CHACHA20
#define AES TLSP_CF_AES
#define CAM TLSP_CF_CAMELLIA
#define ARIA TLSP_CF_ARIA
#define TLS13 TLSP_CF_TLS13

struct classify_row {
	const char *name;
	const char *in;
	int known, bits, fs, aead;
	unsigned families;
};

static char big_a[64 * 1024 + 1];

static const struct classify_row classify_rows[] = {
	/* In OpenSSL 3's table. */
	{"ECDHE RSA AES256 GCM", "ECDHE-RSA-AES256-GCM-SHA384", 1, 256, 1, 1,
	 GCM | AES | AEAD},
	{"lookup is case-insensitive", "ecdhe-rsa-aes256-gcm-sha384", 1, 256, 1,
	 1, GCM | AES | AEAD},
	{"TLS 1.3 AES256", "TLS_AES_256_GCM_SHA384", 1, 256, 1, 1,
	 TLS13 | GCM | AES | AEAD},
	{"TLS 1.3 AES128", "TLS_AES_128_GCM_SHA256", 1, 128, 1, 1,
	 TLS13 | GCM | AES | AEAD},
	{"TLS 1.3 CHACHA20", "TLS_CHACHA20_POLY1305_SHA256", 1, 256, 1, 1,
	 TLS13 | CHACHA | AEAD},
	{"TLS 1.3 CCM (not a default suite)", "TLS_AES_128_CCM_SHA256", 1, 128,
	 1, 1, TLS13 | CCM | AES | AEAD},
	{"TLS 1.3 CCM_8", "TLS_AES_128_CCM_8_SHA256", 1, 128, 1, 1,
	 TLS13 | CCM | AES | AEAD},
	{"RSA kx AES128 CBC SHA1", "AES128-SHA", 1, 128, 0, 0,
	 AES | CBC | SHA1},
	{"RSA kx AES256 CBC SHA256", "AES256-SHA256", 1, 256, 0, 0, AES | CBC},
	{"RSA kx AES GCM", "AES128-GCM-SHA256", 1, 128, 0, 1, AES | GCM | AEAD},
	{"DHE CBC", "DHE-RSA-AES128-SHA256", 1, 128, 1, 0, AES | CBC},
	{"ECDHE CBC SHA1", "ECDHE-RSA-AES128-SHA", 1, 128, 1, 0,
	 AES | CBC | SHA1},
	{"ECDHE ECDSA CHACHA20", "ECDHE-ECDSA-CHACHA20-POLY1305", 1, 256, 1, 1,
	 CHACHA | AEAD},
	{"ECDHE ECDSA CCM8", "ECDHE-ECDSA-AES128-CCM8", 1, 128, 1, 1,
	 AES | CCM | AEAD},
	{"DHE CAMELLIA", "DHE-RSA-CAMELLIA128-SHA", 1, 128, 1, 0,
	 CAM | CBC | SHA1},
	{"ECDHE ARIA GCM", "ECDHE-ARIA128-GCM-SHA256", 1, 128, 1, 1,
	 ARIA | GCM | AEAD},
	{"PSK without forward secrecy", "PSK-AES128-CBC-SHA", 1, 128, 0, 0,
	 AES | CBC | SHA1},
	{"ECDHE PSK", "ECDHE-PSK-AES128-CBC-SHA256", 1, 128, 1, 0, AES | CBC},
	{"NULL SHA256", "NULL-SHA256", 1, 0, 0, 0, NUL},
	{"NULL MD5", "NULL-MD5", 1, 0, 0, 0, NUL | MD5},
	{"ECDHE NULL", "ECDHE-RSA-NULL-SHA", 1, 0, 1, 0, NUL | SHA1},
	{"anonymous DH GCM", "ADH-AES256-GCM-SHA384", 1, 256, 1, 1,
	 ANON | GCM | AES | AEAD},
	{"anonymous ECDH", "AECDH-AES128-SHA", 1, 128, 1, 0,
	 ANON | AES | CBC | SHA1},
	{"IANA name", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 1, 128, 1, 1,
	 GCM | AES | AEAD},
	{"IANA name lower case", "tls_rsa_with_aes_128_cbc_sha", 1, 128, 0, 0,
	 AES | CBC | SHA1},
	{"IANA anonymous", "TLS_DH_anon_WITH_AES_256_GCM_SHA384", 1, 256, 1, 1,
	 ANON | GCM | AES | AEAD},

	/* Maybe, or surely, not in this OpenSSL: same answers either way. */
	{"3DES", "DES-CBC3-SHA", ANY, 112, 0, 0, DES3 | CBC | SHA1},
	{"EDH 3DES", "EDH-RSA-DES-CBC3-SHA", ANY, 112, 1, 0, DES3 | CBC | SHA1},
	{"ECDHE 3DES", "ECDHE-RSA-DES-CBC3-SHA", ANY, 112, 1, 0,
	 DES3 | CBC | SHA1},
	{"IANA 3DES", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", ANY, 112, 0, 0,
	 DES3 | CBC | SHA1},
	{"single DES", "DES-CBC-SHA", 0, 56, 0, 0, DES | CBC | SHA1},
	{"RC4 SHA", "RC4-SHA", ANY, 128, 0, 0, RC4 | SHA1},
	{"RC4 MD5", "RC4-MD5", ANY, 128, 0, 0, RC4 | MD5},
	{"ECDHE RC4", "ECDHE-RSA-RC4-SHA", ANY, 128, 1, 0, RC4 | SHA1},
	{"anonymous RC4", "ADH-RC4-MD5", ANY, 128, 1, 0, ANON | RC4 | MD5},
	{"IANA RC4", "TLS_RSA_WITH_RC4_128_MD5", ANY, 128, 0, 0, RC4 | MD5},
	{"export RC4", "EXP-RC4-MD5", 0, 40, 0, 0, EXP | RC4 | MD5},
	{"export DES", "EXP-EDH-RSA-DES-CBC-SHA", 0, 40, 1, 0,
	 EXP | DES | CBC | SHA1},
	{"export RC2", "EXP-RC2-CBC-MD5", 0, 40, 0, 0, EXP | CBC | MD5},
	{"export1024", "EXP1024-RC4-SHA", 0, 56, 0, 0, EXP | RC4 | SHA1},
	{"IANA export", "TLS_RSA_EXPORT_WITH_RC4_40_MD5", 0, 40, 0, 0,
	 EXP | RC4 | MD5},
	{"IANA export DES40", "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", 0, 40, 0, 0,
	 EXP | DES | CBC | SHA1},
	{"IANA anonymous export", "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", 0, 40,
	 1, 0, ANON | EXP | RC4 | MD5},
	{"IDEA", "IDEA-CBC-SHA", ANY, 128, 0, 0, CBC | SHA1},
	{"SSL_ prefix", "SSL_RSA_WITH_RC4_128_SHA", 0, 128, 0, 0, RC4 | SHA1},
	{"static DH", "DH-RSA-AES128-SHA", 0, 128, 0, 0, AES | CBC | SHA1},
	{"IANA static ECDH, strength from the number",
	 "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", 0, 256, 0, 0, AES | CBC | SHA1},
	{"IANA static ECDH GCM", "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", 0,
	 256, 0, 1, AES | GCM | AEAD},
	{"IANA anonymous ECDH", "TLS_ECDH_anon_WITH_RC4_128_SHA", 0, 128, 1, 0,
	 ANON | RC4 | SHA1},
	{"TLS 1.3 suite OpenSSL 3.0 lacks (RFC 8998)", "TLS_SM4_GCM_SM3", 0,
	 128, 1, 1, TLS13 | GCM | AEAD},

	/* Not cipher names. */
	{"empty", "", 0, -1, -1, -1, 0},
	{"NULL pointer", NULL, 0, -1, -1, -1, 0},
	{"garbage", "hello world", 0, -1, -1, -1, 0},
	{"separators only", "--__-", 0, -1, -1, -1, 0},
	{"TLS prefix only", "TLS_", 0, -1, -1, -1, 0},
	{"signalling suite", "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", 0, -1, -1, -1,
	 0},
	{"unknown key exchange", "FOO-AES128-SHA", 0, 128, -1, 0,
	 AES | CBC | SHA1},
	{"trailing CRLF is not the suite", "ECDHE-RSA-AES256-GCM-SHA384\r\n", 0,
	 256, 1, 1, GCM | AES | AEAD},
	{"overlong word", "ECDHE-RSAAAAAAAAAAAAAAAAAAAAAAAAA-AES128-SHA", 0,
	 128, 1, 0, AES | CBC | SHA1},
	{"64 KiB", big_a, 0, -1, -1, -1, 0},
};

static void
test_classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(classify_rows); i++) {
		const struct classify_row *r = &classify_rows[i];
		struct tlsp_cipher_info ci;

		memset(&ci, 0x5a, sizeof(ci));
		tlsp_cipher_classify(r->in, &ci);
		check_int(r->name, "known", ci.known, r->known);
		check_int(r->name, "bits", ci.bits, r->bits);
		check_int(r->name, "forward_secrecy", ci.forward_secrecy,
			  r->fs);
		check_int(r->name, "aead", ci.aead, r->aead);
		if (ci.families != r->families)
			fail_msg("%s: families = %#x, want %#x", r->name,
				 ci.families, r->families);
	}
}

/* What this machine's OpenSSL carries, for the test log. */
static void
test_classify_report(void **state)
{
	static const char *const probe[] = {"DES-CBC3-SHA", "RC4-SHA",
					    "IDEA-CBC-SHA", "SEED-SHA"};
	struct tlsp_cipher_info ci;

	(void)state;
	assert_int_equal(tlsp_cipher_init(), 0);
	for (size_t i = 0; i < NELEM(probe); i++) {
		tlsp_cipher_classify(probe[i], &ci);
		print_message("  %s: %s\n", probe[i],
			      ci.known ? "in OpenSSL's table"
				       : "from its name");
	}
}

struct family_row {
	const char *name;
	const char *in;
	unsigned want;
};

static const struct family_row family_rows[] = {
	{"RC4", "RC4", TLSP_CF_RC4},
	{"lower case", "rc4", TLSP_CF_RC4},
	{"3DES", "3DES", TLSP_CF_3DES},
	{"DES is single DES", "DES", TLSP_CF_DES},
	{"CBC", "cbc", TLSP_CF_CBC},
	{"NULL", "NULL", TLSP_CF_NULL},
	{"EXPORT", "Export", TLSP_CF_EXPORT},
	{"ANON", "ANON", TLSP_CF_ANON},
	{"MD5", "MD5", TLSP_CF_MD5},
	{"SHA1", "sha1", TLSP_CF_SHA1},
	{"AEAD", "AEAD", TLSP_CF_AEAD},
	{"GCM", "GCM", TLSP_CF_GCM},
	{"CCM", "CCM", TLSP_CF_CCM},
	{"CHACHA20", "ChaCha20", TLSP_CF_CHACHA20},
	{"AES", "AES", TLSP_CF_AES},
	{"CAMELLIA", "Camellia", TLSP_CF_CAMELLIA},
	{"ARIA", "ARIA", TLSP_CF_ARIA},
	{"TLSv1.3", "TLSv1.3", TLSP_CF_TLS13},
	{"TLSV1.3", "TLSV1.3", TLSP_CF_TLS13},
	{"TLS13 alias", "TLS13", TLSP_CF_TLS13},
	{"aNULL alias", "aNULL", TLSP_CF_ANON},
	{"eNULL alias", "eNULL", TLSP_CF_NULL},
	{"SHA is not a family", "SHA", 0},
	{"a suite name is not a family", "AES128-SHA", 0},
	{"empty", "", 0},
	{"NULL pointer", NULL, 0},
	{"trailing space", "RC4 ", 0},
};

static void
test_family_lookup(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(family_rows); i++) {
		const struct family_row *r = &family_rows[i];

		check_int(r->name, "bit", tlsp_cipher_family_lookup(r->in),
			  r->want);
	}
}

/* Every bit has a name that looks itself up; nothing else has a name. */
static void
test_family_round_trip(void **state)
{
	(void)state;
	for (unsigned bit = 1; bit != 0; bit <<= 1) {
		const char *name = tlsp_cipher_family_name(bit);

		if (bit <= TLSP_CF_TLS13 && name == NULL)
			fail_msg("bit %#x has no name", bit);
		if (bit > TLSP_CF_TLS13 && name != NULL)
			fail_msg("bit %#x has name %s", bit, name);
		if (name != NULL && tlsp_cipher_family_lookup(name) != bit)
			fail_msg("%s does not look up to %#x", name, bit);
	}
	assert_null(tlsp_cipher_family_name(0));
	assert_null(tlsp_cipher_family_name(TLSP_CF_RC4 | TLSP_CF_MD5));
}

/* The first calls race to build the table; all must see the same one. */
static void *
classify_loop(void *arg)
{
	struct tlsp_cipher_info ci;
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 2000; i++) {
		tlsp_cipher_classify("ECDHE-RSA-AES256-GCM-SHA384", &ci);
		bad += ci.known != 1 || ci.bits != 256;
		tlsp_cipher_classify("RC4-MD5", &ci);
		bad += ci.bits != 128;
	}
	return (void *)bad;
}

static void
test_classify_threads(void **state)
{
	pthread_t t[8];

	(void)state;
	for (size_t i = 0; i < NELEM(t); i++)
		assert_int_equal(pthread_create(&t[i], NULL, classify_loop,
						NULL),
				 0);
	for (size_t i = 0; i < NELEM(t); i++) {
		void *bad;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, so that it is the one that builds the table. */
		cmocka_unit_test(test_classify_threads),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_classify_report),
		cmocka_unit_test(test_family_lookup),
		cmocka_unit_test(test_family_round_trip),
	};

	memset(big_a, 'A', sizeof(big_a) - 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cipher.c - what a {cipher} name tells us: strength, forward secrecy,
 * AEAD, and the families that allow/deny lists name.
 *
 * The MTAs send OpenSSL's name for the negotiated suite, so OpenSSL's own
 * table is the best classifier. On first use we enumerate every suite this
 * libssl knows (security level 0, so weak ones are listed too), under both
 * its OpenSSL and its IANA name, into a sorted array that never changes
 * afterwards, so lookups need no lock. Suites this build no longer has
 * (RC4, export, often 3DES) still arrive from older peers through older
 * MTAs; those are classified from the components of the name and reported
 * with known = 0, so a policy can tell evidence from inference.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Longer than any suite name; a longer {cipher} is not a suite name. */
#define CIPHER_NAME_MAX 64
/* OpenSSL 3.0 lists about 165 suites; two names each, with room to grow. */
#define TABLE_MAX 1024

#define TLS13_SUITES                                                           \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"                 \
	"TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"                       \
	"TLS_AES_128_CCM_8_SHA256"

struct cipher_entry {
	char name[CIPHER_NAME_MAX];
	char openssl[CIPHER_NAME_MAX]; /* the name MTAs put in {cipher} */
	struct tlsp_cipher_info info;
};

/* Written once under table_once, read-only afterwards. */
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static struct {
	int status; /* 0, or -1 if OpenSSL could not list its suites */
	size_t n;
	struct cipher_entry v[TABLE_MAX];
} table;

static const struct {
	unsigned bit;
	const char *name;
} family_names[] = {
	{TLSP_CF_RC4, "RC4"},		{TLSP_CF_DES, "DES"},
	{TLSP_CF_3DES, "3DES"},		{TLSP_CF_CBC, "CBC"},
	{TLSP_CF_NULL, "NULL"},		{TLSP_CF_EXPORT, "EXPORT"},
	{TLSP_CF_ANON, "ANON"},		{TLSP_CF_MD5, "MD5"},
	{TLSP_CF_SHA1, "SHA1"},		{TLSP_CF_AEAD, "AEAD"},
	{TLSP_CF_GCM, "GCM"},		{TLSP_CF_CCM, "CCM"},
	{TLSP_CF_CHACHA20, "CHACHA20"}, {TLSP_CF_AES, "AES"},
	{TLSP_CF_CAMELLIA, "CAMELLIA"}, {TLSP_CF_ARIA, "ARIA"},
	{TLSP_CF_TLS13, "TLSv1.3"},
};

/* Other spellings people bring from OpenSSL cipher strings. */
static const struct {
	unsigned bit;
	const char *name;
} family_aliases[] = {
	{TLSP_CF_TLS13, "TLS13"},
	{TLSP_CF_ANON, "aNULL"},
	{TLSP_CF_NULL, "eNULL"},
};

static int
ascii_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* Locale-independent, so the sort order and the lookups always agree. */
static int
ascii_casecmp(const char *a, const char *b)
{
	int ca, cb;

	do {
		ca = ascii_upper((unsigned char)*a++);
		cb = ascii_upper((unsigned char)*b++);
	} while (ca == cb && ca != 0);
	return ca - cb;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct cipher_entry *x = a, *y = b;

	return ascii_casecmp(x->name, y->name);
}

static int
key_cmp(const void *key, const void *elem)
{
	const struct cipher_entry *e = elem;

	return ascii_casecmp(key, e->name);
}

/* ------------------------------------------------------ from OpenSSL */

static unsigned
bulk_families(int nid, int bits)
{
	static const struct {
		int nid;
		unsigned fam;
	} map[] = {
		{NID_rc4, TLSP_CF_RC4},
		{NID_rc4_40, TLSP_CF_RC4},
		{NID_des_cbc, TLSP_CF_DES | TLSP_CF_CBC},
		{NID_des_ede3_cbc, TLSP_CF_3DES | TLSP_CF_CBC},
		{NID_aes_128_cbc, TLSP_CF_AES | TLSP_CF_CBC},
		{NID_aes_256_cbc, TLSP_CF_AES | TLSP_CF_CBC},
		{NID_aes_128_gcm, TLSP_CF_AES | TLSP_CF_GCM},
		{NID_aes_256_gcm, TLSP_CF_AES | TLSP_CF_GCM},
		{NID_aes_128_ccm, TLSP_CF_AES | TLSP_CF_CCM},
		{NID_aes_256_ccm, TLSP_CF_AES | TLSP_CF_CCM},
		{NID_chacha20_poly1305, TLSP_CF_CHACHA20},
		{NID_camellia_128_cbc, TLSP_CF_CAMELLIA | TLSP_CF_CBC},
		{NID_camellia_256_cbc, TLSP_CF_CAMELLIA | TLSP_CF_CBC},
		{NID_aria_128_gcm, TLSP_CF_ARIA | TLSP_CF_GCM},
		{NID_aria_256_gcm, TLSP_CF_ARIA | TLSP_CF_GCM},
		{NID_seed_cbc, TLSP_CF_CBC},
		{NID_idea_cbc, TLSP_CF_CBC},
	};

	/* NID_undef also covers suites whose cipher this build lacks;
	 * only the zero strength says "no encryption". */
	if (nid == NID_undef)
		return bits == 0 ? TLSP_CF_NULL : 0;
	for (size_t i = 0; i < NELEM(map); i++)
		if (map[i].nid == nid)
			return map[i].fam;
	return 0;
}

static void
info_from_ssl(const SSL_CIPHER *c, struct tlsp_cipher_info *out)
{
	int kx = SSL_CIPHER_get_kx_nid(c);
	int md = SSL_CIPHER_get_digest_nid(c);

	out->known = 1;
	out->bits = SSL_CIPHER_get_bits(c, NULL);
	/* NID_kx_any: TLS 1.3, whose key exchange is always ephemeral. */
	out->forward_secrecy = kx == NID_kx_ecdhe || kx == NID_kx_dhe ||
			       kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk ||
			       kx == NID_kx_any;
	out->aead = SSL_CIPHER_is_aead(c) ? 1 : 0;
	out->families = bulk_families(SSL_CIPHER_get_cipher_nid(c), out->bits);
	if (out->aead)
		out->families |= TLSP_CF_AEAD;
	if (md == NID_md5)
		out->families |= TLSP_CF_MD5;
	else if (md == NID_sha1)
		out->families |= TLSP_CF_SHA1;
	if (SSL_CIPHER_get_auth_nid(c) == NID_auth_null)
		out->families |= TLSP_CF_ANON;
	if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0)
		out->families |= TLSP_CF_TLS13;
}

static void
table_add(const char *name, const char *openssl,
	  const struct tlsp_cipher_info *info)
{
	struct cipher_entry *e;

	/* "(NONE)": a libssl built without trace has no IANA names. */
	if (name == NULL || strcmp(name, "(NONE)") == 0 ||
	    strlen(name) >= CIPHER_NAME_MAX || table.n == TABLE_MAX)
		return;
	e = &table.v[table.n++];
	strcpy(e->name, name);
	snprintf(e->openssl, sizeof(e->openssl), "%s", openssl);
	e->info = *info;
}

/* TLS 1.3 suites have one name for both, so drop the doubles. */
static void
table_sort(void)
{
	size_t out = 0;

	qsort(table.v, table.n, sizeof(table.v[0]), entry_cmp);
	for (size_t i = 0; i < table.n; i++)
		if (out == 0 || entry_cmp(&table.v[out - 1], &table.v[i]) != 0)
			table.v[out++] = table.v[i];
	table.n = out;
}

static void
table_build(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	STACK_OF(SSL_CIPHER) * sk;

	table.status = -1;
	if (ctx == NULL)
		goto done;
	SSL_CTX_set_security_level(ctx, 0);
	if (SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0") !=
		    1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1)
		goto done;
	sk = SSL_CTX_get_ciphers(ctx);
	for (int i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		struct tlsp_cipher_info info;

		info_from_ssl(c, &info);
		table_add(SSL_CIPHER_get_name(c), SSL_CIPHER_get_name(c),
			  &info);
		table_add(SSL_CIPHER_standard_name(c), SSL_CIPHER_get_name(c),
			  &info);
	}
	table_sort();
	table.status = table.n > 0 ? 0 : -1;
done:
	SSL_CTX_free(ctx);
	/* Leave no errors behind for the caller's next OpenSSL call. */
	ERR_clear_error();
}

/*
 * Returns 0, or -1 if OpenSSL could not list its suites; every name is
 * then classified from its components (known = 0). Thread-safe.
 */
int
tlsp_cipher_init(void)
{
	pthread_once(&table_once, table_build);
	return table.status;
}

/* ---------------------------------------------------- from the name */

/* Longer than any suite name anyone has sent; beyond it, not a name. */
#define NAME_PARSE_MAX 256

enum word_kind {
	W_KX_FS,   /* ECDHE, DHE, EDH: ephemeral key exchange */
	W_KX_ANON, /* ADH, AECDH: anonymous, so ephemeral */
	W_KX_DH,   /* DH, ECDH: static, unless "anon" follows */
	W_KX,	   /* RSA, PSK, ...: no forward secrecy */
	W_ANON,	   /* IANA "DH_anon" */
	W_EXPORT,
	W_EXPORT1024,
	W_BULK,
	W_MODE,
	W_TRIPLE, /* DES-CBC3, DES-EDE3: DES becomes 3DES */
	W_MAC,
	W_PREFIX, /* IANA "TLS_", "SSL_" */
	W_WITH,
};

struct word {
	const char *text;
	enum word_kind kind;
	unsigned fam;
	int bits;  /* W_BULK: strength; a number token may follow */
	int block; /* W_BULK: a block cipher, so CBC unless AEAD */
};

static const struct word words[] = {
	{"ECDHE", W_KX_FS, 0, 0, 0},
	{"DHE", W_KX_FS, 0, 0, 0},
	{"EDH", W_KX_FS, 0, 0, 0},
	{"ADH", W_KX_ANON, TLSP_CF_ANON, 0, 0},
	{"AECDH", W_KX_ANON, TLSP_CF_ANON, 0, 0},
	{"DH", W_KX_DH, 0, 0, 0},
	{"ECDH", W_KX_DH, 0, 0, 0},
	{"RSA", W_KX, 0, 0, 0},
	{"DSS", W_KX, 0, 0, 0},
	{"ECDSA", W_KX, 0, 0, 0},
	{"PSK", W_KX, 0, 0, 0},
	{"SRP", W_KX, 0, 0, 0},
	{"KRB5", W_KX, 0, 0, 0},
	{"ANON", W_ANON, TLSP_CF_ANON, 0, 0},
	{"ANULL", W_ANON, TLSP_CF_ANON, 0, 0},
	{"EXP", W_EXPORT, TLSP_CF_EXPORT, 0, 0},
	{"EXPORT", W_EXPORT, TLSP_CF_EXPORT, 0, 0},
	{"EXP1024", W_EXPORT1024, TLSP_CF_EXPORT, 0, 0},
	{"EXPORT1024", W_EXPORT1024, TLSP_CF_EXPORT, 0, 0},
	{"RC4", W_BULK, TLSP_CF_RC4, 128, 0},
	{"RC2", W_BULK, 0, 128, 1},
	{"DES", W_BULK, TLSP_CF_DES, 56, 1},
	{"DES40", W_BULK, TLSP_CF_DES, 40, 1},
	{"3DES", W_BULK, TLSP_CF_3DES, 112, 1},
	{"NULL", W_BULK, TLSP_CF_NULL, 0, 0},
	{"AES", W_BULK, TLSP_CF_AES, -1, 1},
	{"AES128", W_BULK, TLSP_CF_AES, 128, 1},
	{"AES256", W_BULK, TLSP_CF_AES, 256, 1},
	{"CAMELLIA", W_BULK, TLSP_CF_CAMELLIA, -1, 1},
	{"CAMELLIA128", W_BULK, TLSP_CF_CAMELLIA, 128, 1},
	{"CAMELLIA256", W_BULK, TLSP_CF_CAMELLIA, 256, 1},
	{"ARIA", W_BULK, TLSP_CF_ARIA, -1, 1},
	{"ARIA128", W_BULK, TLSP_CF_ARIA, 128, 1},
	{"ARIA256", W_BULK, TLSP_CF_ARIA, 256, 1},
	{"SEED", W_BULK, 0, 128, 1},
	{"IDEA", W_BULK, 0, 128, 1},
	{"SM4", W_BULK, 0, 128, 1},
	{"CHACHA20", W_BULK, TLSP_CF_CHACHA20 | TLSP_CF_AEAD, 256, 0},
	{"CBC", W_MODE, TLSP_CF_CBC, 0, 0},
	{"EDE", W_MODE, 0, 0, 0},
	{"GCM", W_MODE, TLSP_CF_GCM | TLSP_CF_AEAD, 0, 0},
	{"CCM", W_MODE, TLSP_CF_CCM | TLSP_CF_AEAD, 0, 0},
	{"CCM8", W_MODE, TLSP_CF_CCM | TLSP_CF_AEAD, 0, 0},
	{"POLY1305", W_MODE, TLSP_CF_AEAD, 0, 0},
	{"CBC3", W_TRIPLE, 0, 0, 0},
	{"EDE3", W_TRIPLE, 0, 0, 0},
	{"MD5", W_MAC, TLSP_CF_MD5, 0, 0},
	{"SHA", W_MAC, TLSP_CF_SHA1, 0, 0},
	{"SHA1", W_MAC, TLSP_CF_SHA1, 0, 0},
	{"SHA256", W_MAC, 0, 0, 0},
	{"SHA384", W_MAC, 0, 0, 0},
	{"TLS", W_PREFIX, 0, 0, 0},
	{"SSL", W_PREFIX, 0, 0, 0},
	{"WITH", W_WITH, 0, 0, 0},
};

struct name_parse {
	int ntok;
	int iana, with;	  /* "TLS_..._WITH_...", or "TLS_..." for 1.3 */
	int fs, anon, dh; /* key exchange evidence */
	int unknown_kx;	  /* an unknown word where the key exchange is */
	int recognised;
	int export, export1024, triple;
	int bulk, block, want_bits, bits;
	unsigned fam, mac; /* mac: the MAC family if the last word is one */
};

static const struct word *
word_find(const char *tok)
{
	for (size_t i = 0; i < NELEM(words); i++)
		if (strcmp(words[i].text, tok) == 0)
			return &words[i];
	return NULL;
}

static int
is_number(const char *tok)
{
	if (*tok == '\0')
		return 0;
	for (; *tok; tok++)
		if (*tok < '0' || *tok > '9')
			return 0;
	return 1;
}

/* A number right after the bulk cipher is its strength: IANA "AES_128",
 * "RC4_40"; anywhere else ("CCM_8") it says nothing we use. */
static void
parse_number(struct name_parse *p, const char *tok)
{
	if (p->want_bits && strlen(tok) <= 4)
		p->bits = atoi(tok);
	p->want_bits = 0;
}

static void
parse_word(struct name_parse *p, const struct word *w)
{
	p->want_bits = 0;
	if (w->kind != W_PREFIX && w->kind != W_WITH)
		p->recognised = 1;
	p->fam |= w->fam;
	switch (w->kind) {
	case W_PREFIX:
		p->iana |= p->ntok == 1;
		break;
	case W_WITH:
		p->with = 1;
		break;
	case W_KX_FS:
		p->fs = 1;
		break;
	case W_KX_ANON:
		p->fs = p->anon = 1;
		break;
	case W_KX_DH:
		p->dh = 1;
		break;
	case W_ANON:
		p->anon = 1;
		break;
	case W_EXPORT:
	case W_EXPORT1024:
		p->export = 1;
		p->export1024 |= w->kind == W_EXPORT1024;
		break;
	case W_BULK:
		if (!p->bulk)
			p->bits = w->bits;
		p->bulk = p->want_bits = 1;
		p->block |= w->block;
		break;
	case W_TRIPLE:
		p->triple = 1;
		break;
	case W_KX:
	case W_MODE:
	case W_MAC:
		break;
	}
	p->mac = w->kind == W_MAC ? w->fam : 0;
}

/* tok is upper case; an overlong token is no word we know. */
static void
parse_token(struct name_parse *p, const char *tok, int overlong)
{
	const struct word *w = overlong ? NULL : word_find(tok);

	p->ntok++;
	if (w != NULL) {
		parse_word(p, w);
		return;
	}
	p->mac = 0;
	if (!overlong && is_number(tok)) {
		parse_number(p, tok);
		return;
	}
	p->want_bits = 0;
	if (!p->bulk && !p->with)
		p->unknown_kx = 1;
}

static void
parse_finish(const struct name_parse *p, struct tlsp_cipher_info *out)
{
	int tls13 = p->iana && !p->with && p->bulk;
	unsigned fam = p->fam | p->mac;
	int bits = p->bulk ? p->bits : -1;

	if (!p->recognised)
		return;
	if (p->triple && (fam & TLSP_CF_DES)) {
		fam = (fam & ~TLSP_CF_DES) | TLSP_CF_3DES;
		bits = 112;
	}
	if (p->export) {
		int cap = p->export1024 ? 56 : 40;

		bits = bits > cap ? cap : bits;
	}
	out->aead = (fam & TLSP_CF_AEAD) ? 1 : p->bulk ? 0 : -1;
	if (out->aead != 1 && p->block)
		fam |= TLSP_CF_CBC;
	if (tls13)
		fam |= TLSP_CF_TLS13;
	out->bits = bits;
	out->families = fam;
	if (p->fs || tls13 || (p->anon && p->dh))
		out->forward_secrecy = 1;
	else
		out->forward_secrecy = p->unknown_kx ? -1 : 0;
}

/* Splits on '-' (OpenSSL) and '_' (IANA) and reads the words. */
static void
classify_by_name(const char *name, struct tlsp_cipher_info *out)
{
	struct name_parse p = {.bits = -1};
	char tok[16];
	size_t len = 0;
	int overlong = 0;

	for (const char *s = name;; s++) {
		if (*s == '-' || *s == '_' || *s == '\0') {
			tok[len] = '\0';
			if (len > 0 || overlong)
				parse_token(&p, tok, overlong);
			len = 0;
			overlong = 0;
			if (*s == '\0')
				break;
		} else if (!overlong && len < sizeof(tok) - 1) {
			tok[len++] = (char)ascii_upper((unsigned char)*s);
		} else {
			overlong = 1;
		}
	}
	parse_finish(&p, out);
}

const char *
tlsp_cipher_openssl_name(const char *name)
{
	const struct cipher_entry *e;

	if (name == NULL || strnlen(name, CIPHER_NAME_MAX) >= CIPHER_NAME_MAX)
		return NULL;
	(void)tlsp_cipher_init();
	e = bsearch(name, table.v, table.n, sizeof(table.v[0]), key_cmp);
	return e ? e->openssl : NULL;
}

void
tlsp_cipher_classify(const char *name, struct tlsp_cipher_info *out)
{
	const struct cipher_entry *e;
	size_t len;

	*out = (struct tlsp_cipher_info){
		.known = 0, .bits = -1, .forward_secrecy = -1, .aead = -1};
	if (name == NULL || *name == '\0')
		return;
	len = strnlen(name, NAME_PARSE_MAX);
	(void)tlsp_cipher_init();
	if (len < CIPHER_NAME_MAX) {
		e = bsearch(name, table.v, table.n, sizeof(table.v[0]),
			    key_cmp);
		if (e != NULL) {
			*out = e->info;
			return;
		}
	}
	if (len < NAME_PARSE_MAX)
		classify_by_name(name, out);
}

/* --------------------------------------------------------- families */

unsigned
tlsp_cipher_family_lookup(const char *name)
{
	if (name == NULL)
		return 0;
	for (size_t i = 0; i < NELEM(family_names); i++)
		if (ascii_casecmp(name, family_names[i].name) == 0)
			return family_names[i].bit;
	for (size_t i = 0; i < NELEM(family_aliases); i++)
		if (ascii_casecmp(name, family_aliases[i].name) == 0)
			return family_aliases[i].bit;
	return 0;
}

/* The name of one family bit; NULL for 0, several bits or an unknown one. */
const char *
tlsp_cipher_family_name(unsigned bit)
{
	for (size_t i = 0; i < NELEM(family_names); i++)
		if (family_names[i].bit == bit)
			return family_names[i].name;
	return NULL;
}

/*
 * test_svg.c - the chart builder of the HTML report (audit/tool/svg.c):
 * the y scale, an empty period, one point, a year of days, missing line
 * values, escaping, and the limits it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svg.h"

/* ============================================================ helpers */

static char *
render(const struct tlspa_svg_chart *c, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rc = tlspa_svg_write(f, c);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* ============================================================= scales */

static const struct {
	const char *name;
	double max;
	int integer;
	double step, top;
	int n;
} scales[] = {
	{"nothing", 0, 1, 1, 1, 1},
	{"negative", -3, 1, 1, 1, 1},
	{"one", 1, 1, 1, 1, 1},
	{"three", 3, 1, 1, 3, 3},
	{"seven: step 2", 7, 1, 2, 8, 4},
	{"ten", 10, 1, 2, 10, 5},
	{"97: step 20", 97, 1, 20, 100, 5},
	{"1234: step 500", 1234, 1, 500, 1500, 3},
	{"a million", 1000000, 1, 200000, 1000000, 5},
	{"fraction", 0.37, 0, 0.1, 0.4, 4},
	{"fraction, integer: step 1", 0.37, 1, 1, 1, 1},
	{"a share", 100, 0, 20, 100, 5},
};

static void
test_scales(void **state)
{
	double step, top;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(scales) / sizeof(scales[0]); i++) {
		n = tlspa_svg_scale(scales[i].max, scales[i].integer, &step,
				    &top);
		if (n != scales[i].n || step < scales[i].step * (1 - 1e-9) ||
		    step > scales[i].step * (1 + 1e-9) ||
		    top < scales[i].top * (1 - 1e-9) ||
		    top > scales[i].top * (1 + 1e-9))
			fail_msg("%s: got n %d step %g top %g", scales[i].name,
				 n, step, top);
		assert_true(top >= scales[i].max);
	}
}

/* ============================================================== charts */

static const char *const two[] = {"TLSv1.3", "TLSv1.2"};

static void
test_empty_period(void **state)
{
	struct tlspa_svg_chart c = {.id = "e",
				    .title = "Empty",
				    .xlabel = "day",
				    .ylabel = "decisions",
				    .nseries = 2,
				    .names = two};
	char *s;
	int rc;

	(void)state;
	s = render(&c, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "no data in this period"));
	assert_int_equal(count(s, "class=\"bar"), 0);
	assert_int_equal(count(s, "class=\"xtick\""), 0);
	/* axes, labels and the legend are still there */
	assert_non_null(strstr(s, ">decisions</text>"));
	assert_non_null(strstr(s, ">day</text>"));
	assert_non_null(strstr(s, ">TLSv1.3</text>"));
	free(s);
}

static void
test_all_zero(void **state)
{
	const char *x[] = {"2026-11-01", "2026-11-02"};
	const double v[] = {0, 0, 0, 0};
	struct tlspa_svg_chart c = {.id = "z",
				    .npoints = 2,
				    .xlabels = x,
				    .nseries = 2,
				    .names = two,
				    .v = v};
	char *s;
	int rc;

	(void)state;
	s = render(&c, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "no data in this period"));
	assert_int_equal(count(s, "class=\"xtick\""), 2);
	free(s);
}

static void
test_one_point(void **state)
{
	const char *x[] = {"2026-11-01"};
	const double v[] = {3, 2};
	struct tlspa_svg_chart c = {.id = "o",
				    .npoints = 1,
				    .xlabels = x,
				    .nseries = 2,
				    .names = two,
				    .v = v};
	char *s;
	int rc;

	(void)state;
	s = render(&c, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(s, "no data"));
	assert_int_equal(count(s, "class=\"bar s0\""), 1);
	assert_int_equal(count(s, "class=\"bar s1\""), 1);
	assert_int_equal(count(s, "class=\"xtick\""), 1);
	/* the stack of 5 reaches the top of the scale (5): the plot's top
	 * edge, y 30 */
	assert_non_null(strstr(s, "y=\"30.00\""));
	assert_non_null(strstr(s, "<title>2026-11-01 TLSv1.3: 3</title>"));
	assert_non_null(strstr(s, "fill=\"url(#o-p1)\""));
	assert_int_equal(count(s, "<pattern id=\"o-p"), 2);
	free(s);
}

static void
test_many_days(void **state)
{
	enum { DAYS = 366 };
	static char lab[DAYS][16];
	const char *x[DAYS];
	double v[2 * DAYS];
	struct tlspa_svg_chart c = {.id = "y",
				    .npoints = DAYS,
				    .xlabels = x,
				    .nseries = 2,
				    .names = two,
				    .v = v};
	char *s;
	int i, rc;

	(void)state;
	for (i = 0; i < DAYS; i++) {
		snprintf(lab[i], sizeof(lab[i]), "day%03d", i);
		x[i] = lab[i];
		v[i] = 1000 + i;
		v[DAYS + i] = i % 7 == 0 ? 0 : 10;
	}
	s = render(&c, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(count(s, "class=\"bar s0\""), DAYS);
	assert_int_equal(count(s, "class=\"bar s1\""), DAYS - (DAYS + 6) / 7);
	assert_in_range(count(s, "class=\"xtick\""), 2, 9);
	assert_non_null(strstr(s, ">day000</text>"));
	assert_non_null(strstr(s, ">day365</text>"));
	/* no tooltip per bar past 62 points: only the chart's title */
	assert_int_equal(count(s, "<title"), 1);
	assert_true(strlen(s) < 200000);
	free(s);
}

static void
test_lines_missing(void **state)
{
	const char *x[] = {"a", "b", "c"};
	const char *names[] = {"bank"};
	const double v[] = {50, -1, 100};
	struct tlspa_svg_chart c = {.id = "l",
				    .kind = TLSPA_SVG_LINES,
				    .npoints = 3,
				    .xlabels = x,
				    .nseries = 1,
				    .names = names,
				    .v = v,
				    .ymax = 100,
				    .yunit = "%"};
	char *s;
	int rc;

	(void)state;
	s = render(&c, &rc);
	assert_int_equal(rc, 0);
	/* two points, the day without a value left out */
	assert_int_equal(count(s, "class=\"pt s0\""), 2);
	assert_non_null(strstr(s, ">100%</text>"));
	assert_non_null(strstr(s, ">0%</text>"));
	assert_non_null(strstr(s, "<title>c bank: 100%</title>"));
	free(s);
}

static void
test_escaping(void **state)
{
	const char *x[] = {"<b>"};
	const char *names[] = {"\"><img src=x onerror=alert(1)>"};
	const double v[] = {1};
	struct tlspa_svg_chart c = {.id = "x",
				    .title = "<script>a</script>",
				    .npoints = 1,
				    .xlabels = x,
				    .nseries = 1,
				    .names = names,
				    .v = v};
	char *s;
	int rc;

	(void)state;
	s = render(&c, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<img"));
	assert_null(strstr(s, "<b>"));
	assert_non_null(strstr(s, "&lt;script&gt;a&lt;/script&gt;"));
	assert_non_null(strstr(s,
			       "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
	free(s);
}

static void
test_refused(void **state)
{
	const char *names[TLSPA_SVG_SERIES + 1] = {0};
	struct tlspa_svg_chart c = {
		.id = "r", .nseries = TLSPA_SVG_SERIES + 1, .names = names};
	char *s;
	int rc;

	(void)state;
	s = render(&c, &rc);
	assert_int_equal(rc, -1);
	free(s);
	c.nseries = 1;
	c.id = NULL;
	s = render(&c, &rc);
	assert_int_equal(rc, -1);
	free(s);
}

static void
test_text_controls(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	tlspa_svg_text(f, "a\x1b[31m'&\x7f", 9);
	fclose(f);
	assert_string_equal(buf, "a&#xFFFD;[31m&#39;&amp;&#xFFFD;");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scales),
		cmocka_unit_test(test_empty_period),
		cmocka_unit_test(test_all_zero),
		cmocka_unit_test(test_one_point),
		cmocka_unit_test(test_many_days),
		cmocka_unit_test(test_lines_missing),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_text_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

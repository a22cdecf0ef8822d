/*
 * svg.c - the chart builder of the HTML report (svg.h).
 *
 * Layout is fixed (a 720 x 300 plot area scaled by the viewBox), so the
 * same numbers always give the same bytes, which the tests compare. Bars
 * with a zero value are not drawn; past 62 points the per-bar tooltips
 * are left out to keep a year of days small; x labels are thinned to at
 * most eight, the first and last points always labelled.
 */
#include <stdint.h>
#include <string.h>

#include "svg.h"

#define W 720
#define PLOT_H 220
#define ML 70 /* left margin: y tick labels and the y axis label */
#define MR 16
#define MT 30 /* title */
#define MB 48 /* x tick labels and the x axis label */
#define LEGEND_ROW 20
#define XLABELS 8
#define TIPS_MAX 62

/* Okabe & Ito (2008), ordered so that neighbours differ in lightness. */
static const char *const palette[TLSPA_SVG_SERIES] = {
	"#0072B2", "#E69F00", "#009E73", "#CC79A7",
	"#56B4E9", "#D55E00", "#F0E442", "#000000",
};

/* Hatching of bar series (path in a 6x6 tile; "" solid) and dashes and
 * markers of line series: greyscale tells them apart. */
static const char *const hatch[TLSPA_SVG_SERIES] = {
	"",	     "M0,6 L6,0",	    "M0,0 L6,6", "M0,3 L6,3",
	"M3,0 L3,6", "M0,0 L6,6 M0,6 L6,0", "M2,2 L3,2", "M0,3 L6,3 M3,0 L3,6",
};
static const char *const dashes[TLSPA_SVG_SERIES] = {
	"", "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 4", "3 1",
};

void
tlspa_svg_text(FILE *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c == '\'')
			fputs("&#39;", f);
		else if (c < 0x20 || c == 0x7f)
			fputs("&#xFFFD;", f);
		else
			putc(c, f);
	}
}

static void
text(FILE *f, const char *s)
{
	tlspa_svg_text(f, s, strlen(s));
}

int
tlspa_svg_scale(double max, int integer, double *step, double *top)
{
	double raw, mag = 1.0, norm, n;

	if (!(max > 0)) {
		*step = 1.0;
		*top = 1.0;
		return 1;
	}
	raw = max / 5.0;
	while (raw / mag >= 10.0)
		mag *= 10.0;
	while (raw / mag < 1.0)
		mag /= 10.0;
	norm = raw / mag;
	*step = (norm <= 1.0   ? 1.0
		 : norm <= 2.0 ? 2.0
		 : norm <= 5.0 ? 5.0
			       : 10.0) *
		mag;
	if (integer && *step < 1.0)
		*step = 1.0;
	n = (double)(uint64_t)(max / *step);
	if (n * *step < max * (1.0 - 1e-12))
		n += 1.0;
	if (n < 1.0)
		n = 1.0;
	*top = n * *step;
	return (int)n;
}

static void
put_num(FILE *f, double v, const char *unit)
{
	if (v == (double)(uint64_t)v && v < 1e15)
		fprintf(f, "%llu", (unsigned long long)v);
	else
		fprintf(f, "%.3g", v);
	if (unit != NULL)
		text(f, unit);
}

static double
value(const struct tlspa_svg_chart *c, size_t s, size_t i)
{
	double v = c->v[s * c->npoints + i];

	return v > 0 ? v : 0;
}

/* The data's top: the highest stack, or the highest value. */
static double
data_max(const struct tlspa_svg_chart *c)
{
	double max = 0, sum, v;
	size_t s, i;

	for (i = 0; i < c->npoints; i++) {
		sum = 0;
		for (s = 0; s < c->nseries; s++) {
			v = value(c, s, i);
			sum = c->kind == TLSPA_SVG_STACKED ? sum + v
			      : v > sum			   ? v
							   : sum;
		}
		if (sum > max)
			max = sum;
	}
	return max;
}

static void
defs(FILE *f, const struct tlspa_svg_chart *c)
{
	size_t s;

	if (c->kind != TLSPA_SVG_STACKED)
		return;
	fputs("<defs>", f);
	for (s = 0; s < c->nseries; s++) {
		fprintf(f,
			"<pattern id=\"%s-p%zu\" width=\"6\" height=\"6\" "
			"patternUnits=\"userSpaceOnUse\"><rect width=\"6\" "
			"height=\"6\" fill=\"%s\"/>",
			c->id, s, palette[s]);
		if (hatch[s][0] != '\0')
			fprintf(f,
				"<path d=\"%s\" stroke=\"%s\" "
				"stroke-width=\"1.2\"/>",
				hatch[s], s == 7 ? "#ffffff" : "#000000");
		fputs("</pattern>", f);
	}
	fputs("</defs>\n", f);
}

static void
axes(FILE *f, const struct tlspa_svg_chart *c, double step, double top,
     int nsteps)
{
	int k;
	double y;

	for (k = 0; k <= nsteps; k++) {
		y = MT + PLOT_H - PLOT_H * (k * step) / top;
		fprintf(f,
			"<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
			"y2=\"%.1f\" stroke=\"#cccccc\"/>"
			"<text class=\"ytick\" x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"end\">",
			ML, y, W - MR, y, ML - 6, y + 4);
		put_num(f, k * step, c->yunit);
		fputs("</text>\n", f);
	}
	fprintf(f,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#000000\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
		"y2=\"%d\" stroke=\"#000000\"/>\n",
		ML, MT, ML, MT + PLOT_H, ML, MT + PLOT_H, W - MR, MT + PLOT_H);
	fprintf(f,
		"<text class=\"ylabel\" transform=\"translate(14,%d) "
		"rotate(-90)\" text-anchor=\"middle\">",
		MT + PLOT_H / 2);
	text(f, c->ylabel != NULL ? c->ylabel : "");
	fprintf(f,
		"</text>\n<text class=\"xlabel\" x=\"%d\" y=\"%d\" "
		"text-anchor=\"middle\">",
		ML + (W - ML - MR) / 2, MT + PLOT_H + 40);
	text(f, c->xlabel != NULL ? c->xlabel : "");
	fputs("</text>\n", f);
}

static double
slot_x(const struct tlspa_svg_chart *c, size_t i)
{
	double slot = (double)(W - ML - MR) / (double)c->npoints;

	return ML + slot * ((double)i + 0.5);
}

static void
xlabels(FILE *f, const struct tlspa_svg_chart *c)
{
	size_t i, stride = (c->npoints + XLABELS - 1) / XLABELS;

	if (stride == 0)
		stride = 1;
	for (i = 0; i < c->npoints; i++) {
		if (i % stride != 0 && i != c->npoints - 1)
			continue;
		if (i != c->npoints - 1 && i + stride / 2 >= c->npoints &&
		    i != 0)
			continue; /* too close to the last label */
		fprintf(f,
			"<text class=\"xtick\" x=\"%.1f\" y=\"%d\" "
			"text-anchor=\"middle\">",
			slot_x(c, i), MT + PLOT_H + 16);
		text(f, c->xlabels[i]);
		fputs("</text>\n", f);
	}
}

static void
tip(FILE *f, const struct tlspa_svg_chart *c, size_t s, size_t i, double v)
{
	if (c->npoints > TIPS_MAX)
		return;
	fputs("<title>", f);
	text(f, c->xlabels[i]);
	fputs(" ", f);
	text(f, c->names[s]);
	fputs(": ", f);
	put_num(f, v, c->yunit);
	fputs("</title>", f);
}

static void
bars(FILE *f, const struct tlspa_svg_chart *c, double top)
{
	double slot = (double)(W - ML - MR) / (double)c->npoints;
	double bw = slot * 0.8, base, h, v;
	size_t s, i;

	for (i = 0; i < c->npoints; i++) {
		base = MT + PLOT_H;
		for (s = 0; s < c->nseries; s++) {
			if ((v = value(c, s, i)) == 0)
				continue;
			h = PLOT_H * v / top;
			base -= h;
			fprintf(f,
				"<rect class=\"bar s%zu\" x=\"%.2f\" "
				"y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
				"fill=\"url(#%s-p%zu)\" stroke=\"#000000\" "
				"stroke-width=\"%s\">",
				s, slot_x(c, i) - bw / 2, base, bw, h, c->id, s,
				bw >= 4 ? "0.4" : "0");
			tip(f, c, s, i, v);
			fputs("</rect>\n", f);
		}
	}
}

/* A marker of shape s at (x, y): circle, square, triangle, diamond... */
static void
marker(FILE *f, const struct tlspa_svg_chart *c, size_t s, size_t i, double x,
       double y)
{
	const char *fill = palette[s];

	switch (s % 4) {
	case 0:
		fprintf(f,
			"<circle class=\"pt s%zu\" cx=\"%.2f\" cy=\"%.2f\" "
			"r=\"3.5\" fill=\"%s\" stroke=\"#000000\">",
			s, x, y, fill);
		break;
	case 1:
		fprintf(f,
			"<rect class=\"pt s%zu\" x=\"%.2f\" y=\"%.2f\" "
			"width=\"7\" height=\"7\" fill=\"%s\" "
			"stroke=\"#000000\">",
			s, x - 3.5, y - 3.5, fill);
		break;
	case 2:
		fprintf(f,
			"<polygon class=\"pt s%zu\" points=\"%.2f,%.2f "
			"%.2f,%.2f %.2f,%.2f\" fill=\"%s\" "
			"stroke=\"#000000\">",
			s, x, y - 4.5, x - 4, y + 3, x + 4, y + 3, fill);
		break;
	default:
		fprintf(f,
			"<polygon class=\"pt s%zu\" points=\"%.2f,%.2f "
			"%.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"%s\" "
			"stroke=\"#000000\">",
			s, x, y - 4.5, x + 4.5, y, x, y + 4.5, x - 4.5, y,
			fill);
		break;
	}
	tip(f, c, s, i, value(c, s, i));
	fputs(s % 4 == 0   ? "</circle>\n"
	      : s % 4 == 1 ? "</rect>\n"
			   : "</polygon>\n",
	      f);
}

static void
lines(FILE *f, const struct tlspa_svg_chart *c, double top)
{
	const char *sep;
	size_t s, i;
	double y;

	for (s = 0; s < c->nseries; s++) {
		fprintf(f,
			"<polyline class=\"line s%zu\" fill=\"none\" "
			"stroke=\"%s\" stroke-width=\"2\"",
			s, palette[s]);
		if (dashes[s][0] != '\0')
			fprintf(f, " stroke-dasharray=\"%s\"", dashes[s]);
		fputs(" points=\"", f);
		for (i = 0, sep = ""; i < c->npoints; i++) {
			if (c->v[s * c->npoints + i] < 0)
				continue; /* no value that day */
			fprintf(f, "%s%.2f,%.2f", sep, slot_x(c, i),
				MT + PLOT_H - PLOT_H * value(c, s, i) / top);
			sep = " ";
		}
		fputs("\"/>\n", f);
		if (c->npoints > TIPS_MAX)
			continue;
		for (i = 0; i < c->npoints; i++) {
			if (c->v[s * c->npoints + i] < 0)
				continue;
			y = MT + PLOT_H - PLOT_H * value(c, s, i) / top;
			marker(f, c, s, i, slot_x(c, i), y);
		}
	}
}

static void
legend(FILE *f, const struct tlspa_svg_chart *c)
{
	size_t s;
	int x, y;

	fputs("<g class=\"legend\">\n", f);
	for (s = 0; s < c->nseries; s++) {
		x = ML + (int)(s % 4) * 160;
		y = MT + PLOT_H + MB + (int)(s / 4) * LEGEND_ROW;
		if (c->kind == TLSPA_SVG_STACKED)
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"14\" "
				"height=\"14\" fill=\"url(#%s-p%zu)\" "
				"stroke=\"#000000\"/>",
				x, y, c->id, s);
		else
			fprintf(f,
				"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
				"stroke=\"%s\" stroke-width=\"2\" "
				"stroke-dasharray=\"%s\"/>",
				x - 4, y + 7, x + 18, y + 7, palette[s],
				dashes[s][0] ? dashes[s] : "none");
		fprintf(f, "<text class=\"key\" x=\"%d\" y=\"%d\">", x + 22,
			y + 12);
		text(f, c->names[s]);
		fputs("</text>\n", f);
	}
	fputs("</g>\n", f);
}

int
tlspa_svg_write(FILE *f, const struct tlspa_svg_chart *c)
{
	double step, top, max;
	int nsteps, h;

	if (c->nseries > TLSPA_SVG_SERIES || (c->nseries && !c->names) ||
	    (c->npoints && (!c->xlabels || (c->nseries && !c->v))) ||
	    c->id == NULL)
		return -1;
	max = c->ymax > 0 ? c->ymax : data_max(c);
	nsteps = tlspa_svg_scale(max, c->yunit == NULL, &step, &top);
	if (c->ymax > 0) {
		top = c->ymax;
		nsteps = (int)(top / step + 0.5);
	}
	h = MT + PLOT_H + MB + (int)((c->nseries + 3) / 4) * LEGEND_ROW + 4;
	fprintf(f,
		"<svg class=\"chart\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"%s-t\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<title id=\"%s-t\">",
		W, h, c->id, c->id);
	text(f, c->title != NULL ? c->title : "");
	fputs("</title>\n", f);
	defs(f, c);
	fprintf(f,
		"<text class=\"ctitle\" x=\"%d\" y=\"18\" font-weight=\"bold\">",
		ML);
	text(f, c->title != NULL ? c->title : "");
	fputs("</text>\n", f);
	axes(f, c, step, top, nsteps);
	if (c->npoints == 0 || c->nseries == 0 ||
	    (c->kind == TLSPA_SVG_STACKED && data_max(c) == 0)) {
		fprintf(f,
			"<text class=\"nodata\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\">no data in this period</text>\n",
			ML + (W - ML - MR) / 2, MT + PLOT_H / 2);
	} else if (c->kind == TLSPA_SVG_STACKED) {
		bars(f, c, top);
	} else {
		lines(f, c, top);
	}
	if (c->npoints > 0)
		xlabels(f, c);
	legend(f, c);
	fputs("</svg>\n", f);
	return 0;
}

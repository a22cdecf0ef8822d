/*
 * svg.h - charts as inline SVG for the HTML report of tlspolicy-audit
 * (private to it). Pure: numbers and names in, markup out; nothing here
 * knows what an audit record is.
 *
 * Every chart has a title, axis labels, a legend, and series told apart
 * by more than colour: the Okabe-Ito palette (safe for the common kinds
 * of colour blindness) and, for greyscale print, a hatching per bar
 * series and a dash pattern and marker shape per line series. A chart
 * with no points, or only zeros, draws its axes and says "no data in
 * this period"; one point draws one bar (or one marker).
 */
#ifndef TLSPOLICY_AUDIT_SVG_H
#define TLSPOLICY_AUDIT_SVG_H

#include <stddef.h>
#include <stdio.h>

enum tlspa_svg_kind {
	TLSPA_SVG_STACKED, /* a bar per point, the series stacked */
	TLSPA_SVG_LINES,   /* a line per series, y from 0 to ymax */
};

#define TLSPA_SVG_SERIES 8 /* series told apart; more are refused */

struct tlspa_svg_chart {
	const char *id; /* unique in the document: prefixes pattern ids
			   ([A-Za-z0-9-] only) */
	const char *title, *xlabel, *ylabel;
	enum tlspa_svg_kind kind;
	size_t npoints;		    /* x positions, e.g. days */
	const char *const *xlabels; /* npoints labels (NULL if npoints 0) */
	size_t nseries;		    /* 0..TLSPA_SVG_SERIES */
	const char *const *names;   /* nseries legend names */
	const double *v;   /* v[s * npoints + i] >= 0; lines: < 0, no value */
	double ymax;	   /* > 0: a fixed top (100 for a share) */
	const char *yunit; /* appended to tick labels ("%"), or NULL */
};

/* The y scale for values up to max: a "nice" step (1, 2 or 5 times a
 * power of ten, at least 1 when integer is set) and the top (a multiple
 * of it, >= max; 1 step when max <= 0). Returns the number of steps. */
int tlspa_svg_scale(double max, int integer, double *step, double *top);

/* Writes chart c as one <svg> element to f (the caller checks ferror).
 * 0, or -1 when c is invalid (too many series, no names). */
int tlspa_svg_write(FILE *f, const struct tlspa_svg_chart *c);

/* Writes n bytes of s as text for HTML and SVG: & < > " ' as entities,
 * control bytes as U+FFFD. */
void tlspa_svg_text(FILE *f, const char *s, size_t n);

#endif

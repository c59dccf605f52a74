/*
 * The strict YAML reader: libyaml events to a located tree (yamltree.h).
 */
#include "yamltree.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void dk_diags_add(struct dk_diags *d, int line, int col, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (d->n >= DK_DIAGS_MAX) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct dk_diag *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	d->v[d->n].line = line;
	d->v[d->n].col = col;
	d->v[d->n].msg = msg;
	d->n++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct dk_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

void dk_diags_sort(struct dk_diags *d)
{
	size_t i, j;

	/* Insertion sort: stable, and the list is short. */
	for (i = 1; i < d->n; i++) {
		struct dk_diag t = d->v[i];
		for (j = i; j > 0 && diag_cmp(&d->v[j - 1], &t) > 0; j--)
			d->v[j] = d->v[j - 1];
		d->v[j] = t;
	}
	for (i = 1, j = 1; i < d->n; i++) {
		if (!diag_cmp(&d->v[j - 1], &d->v[i]) &&
		    !strcmp(d->v[j - 1].msg, d->v[i].msg)) {
			free(d->v[i].msg);
			continue;
		}
		d->v[j++] = d->v[i];
	}
	if (d->n)
		d->n = j;
}

void dk_diags_clear(struct dk_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->n = d->cap = d->dropped = 0;
}

void dk_ynode_free(struct dk_ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		if (n->keys)
			dk_ynode_free(n->keys[i]);
		dk_ynode_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->str);
	free(n);
}

const struct dk_ynode *dk_ynode_get(const struct dk_ynode *map, const char *key)
{
	size_t i;

	if (!map || map->type != DK_YMAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i]->str, key))
			return map->items[i];
	return NULL;
}

const char *dk_ynode_describe(const struct dk_ynode *n)
{
	const char *s;
	char *end;

	if (n->type == DK_YMAP)
		return "a mapping";
	if (n->type == DK_YSEQ)
		return "a sequence";
	if (!n->plain)
		return "a string";
	s = n->str;
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null"))
		return "null";
	if (!strcmp(s, "true") || !strcmp(s, "false"))
		return "a boolean";
	strtod(s, &end);
	if (end != s && !*end)
		return "a number";
	return "a string";
}

size_t dk_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], best;

	if (la >= 63 || lb >= 63)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0], cur;
		row[0] = i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			size_t sub = prev + (a[i - 1] != b[j - 1]);
			size_t del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins)
			                   : (del < ins ? del : ins);
			if (row[j] < best)
				best = row[j];
			prev = cur;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb];
}

const char *dk_nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t i, bd = (size_t)-1, len = strlen(word);
	size_t cap = len <= 3 ? 1 : len <= 6 ? 2 : 3;

	for (i = 0; i < n; i++) {
		size_t dist = dk_edit_distance(word, cands[i], cap);
		if (dist <= cap && dist < bd) {
			bd = dist;
			best = cands[i];
		}
	}
	return best;
}

/* Locate the first invalid UTF-8 sequence or NUL; 0 when all is valid. */
static int utf8_check(const char *buf, size_t len, int *line, int *col)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;
	int l = 1, c = 1;

	while (i < len) {
		unsigned char b = s[i];
		size_t k, need;
		unsigned cp, min;

		if (b == 0)
			goto bad;
		if (b < 0x80) {
			if (b == '\n') {
				l++;
				c = 1;
			} else {
				c++;
			}
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			need = 1, cp = b & 0x1f, min = 0x80;
		} else if (b >= 0xe0 && b <= 0xef) {
			need = 2, cp = b & 0x0f, min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			need = 3, cp = b & 0x07, min = 0x10000;
		} else {
			goto bad;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
		c++;
	}
	return 0;
bad:
	*line = l;
	*col = c;
	return -1;
}

struct frame {
	struct dk_ynode *node;
	struct dk_ynode *pending_key; /* mappings: key awaiting its value */
	size_t cap;
};

struct parser {
	struct dk_diags *d;
	struct frame stack[DK_YAML_MAX_DEPTH + 1];
	int depth;
	size_t nodes;
	struct dk_ynode *root;
	int fatal;
	/* Invalid (non-scalar) keys: kept alive while their events arrive. */
	struct dk_ynode **discard;
	size_t ndiscard;
};

static struct dk_ynode *node_new(enum dk_ynode_type t, const yaml_mark_t *m)
{
	struct dk_ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = t;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static int push_child(struct parser *p, struct dk_ynode *n)
{
	struct frame *f;
	struct dk_ynode *c;

	if (p->depth == 0) {
		if (p->root) {
			dk_ynode_free(n);
			return 0;
		}
		p->root = n;
		return 0;
	}
	f = &p->stack[p->depth - 1];
	c = f->node;
	if (c->type == DK_YMAP && !f->pending_key) {
		size_t i;
		if (n->type != DK_YSCALAR || !*n->str) {
			dk_diags_add(p->d, n->line, n->col,
			             "expected a non-empty string as mapping "
			             "key, got %s",
			             n->type == DK_YSCALAR
			                 ? "an empty key"
			                 : dk_ynode_describe(n));
			if (n->type == DK_YSCALAR) {
				dk_ynode_free(n);
			} else {
				/* Its children are still to come. */
				struct dk_ynode **v = realloc(
				    p->discard, (p->ndiscard + 1) * sizeof(*v));
				if (!v) {
					dk_ynode_free(n);
					return -1;
				}
				p->discard = v;
				p->discard[p->ndiscard++] = n;
			}
			/* Keep the shape: a placeholder key. */
			n = calloc(1, sizeof(*n));
			if (!n)
				return -1;
			n->str = strdup("");
			n->line = n->col = 0;
			f->pending_key = n;
			return 0;
		}
		for (i = 0; i < c->n; i++) {
			if (c->keys[i]->line &&
			    !strcmp(c->keys[i]->str, n->str)) {
				dk_diags_add(p->d, n->line, n->col,
				             "duplicate key \"%s\" (first at "
				             "line %d)",
				             n->str, c->keys[i]->line);
				break;
			}
		}
		f->pending_key = n;
		return 0;
	}
	if (c->n >= DK_YAML_MAX_ITEMS) {
		if (c->n == DK_YAML_MAX_ITEMS)
			dk_diags_add(
			    p->d, n->line, n->col,
			    "more than %d entries in one %s", DK_YAML_MAX_ITEMS,
			    c->type == DK_YMAP ? "mapping" : "sequence");
		p->fatal = 1;
		dk_ynode_free(n);
		return -1;
	}
	if (c->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		struct dk_ynode **it = realloc(c->items, cap * sizeof(*it));
		if (!it)
			return -1;
		c->items = it;
		if (c->type == DK_YMAP) {
			struct dk_ynode **k =
			    realloc(c->keys, cap * sizeof(*k));
			if (!k)
				return -1;
			c->keys = k;
		}
		f->cap = cap;
	}
	if (c->type == DK_YMAP) {
		c->keys[c->n] = f->pending_key;
		f->pending_key = NULL;
	}
	c->items[c->n++] = n;
	return 0;
}

static int count_node(struct parser *p, const yaml_mark_t *m)
{
	if (++p->nodes > DK_YAML_MAX_NODES) {
		dk_diags_add(p->d, (int)m->line + 1, (int)m->column + 1,
		             "more than %d nodes in the file",
		             DK_YAML_MAX_NODES);
		p->fatal = 1;
		return -1;
	}
	return 0;
}

static void check_props(struct parser *p, const yaml_event_t *ev,
                        const unsigned char *anchor, const unsigned char *tag,
                        int implicit)
{
	int l = (int)ev->start_mark.line + 1,
	    c = (int)ev->start_mark.column + 1;

	if (anchor)
		dk_diags_add(p->d, l, c,
		             "anchors are not allowed (found &%s); write the "
		             "value out",
		             anchor);
	if (tag && !implicit) {
		const char *t = (const char *)tag;
		const char *std = "tag:yaml.org,2002:";
		if (!strncmp(t, std, strlen(std)))
			dk_diags_add(p->d, l, c,
			             "tags are not allowed (found !!%s)",
			             t + strlen(std));
		else
			dk_diags_add(p->d, l, c,
			             "tags are not allowed (found %s)", t);
	}
}

static int handle_event(struct parser *p, yaml_event_t *ev, int *docs)
{
	struct dk_ynode *n;
	const yaml_mark_t *m = &ev->start_mark;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			dk_diags_add(p->d, (int)m->line + 1, (int)m->column + 1,
			             "expected one YAML document, found "
			             "another");
			p->fatal = 1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		dk_diags_add(p->d, (int)m->line + 1, (int)m->column + 1,
		             "aliases are not allowed (found *%s)",
		             ev->data.alias.anchor);
		if (count_node(p, m) < 0)
			return -1;
		n = node_new(DK_YSCALAR, m);
		if (!n || !(n->str = strdup("")))
			return free(n), -1;
		return push_child(p, n);
	case YAML_SCALAR_EVENT:
		check_props(p, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
		            ev->data.scalar.plain_implicit ||
		                ev->data.scalar.quoted_implicit);
		if (count_node(p, m) < 0)
			return -1;
		n = node_new(DK_YSCALAR, m);
		if (!n)
			return -1;
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str)
			return free(n), -1;
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = 0;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		           ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
		if (memchr(n->str, 0, n->len)) {
			dk_diags_add(p->d, n->line, n->col,
			             "NUL characters are not allowed");
		}
		return push_child(p, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			check_props(p, ev, ev->data.sequence_start.anchor,
			            ev->data.sequence_start.tag,
			            ev->data.sequence_start.implicit);
		else
			check_props(p, ev, ev->data.mapping_start.anchor,
			            ev->data.mapping_start.tag,
			            ev->data.mapping_start.implicit);
		if (p->depth >= DK_YAML_MAX_DEPTH) {
			dk_diags_add(p->d, (int)m->line + 1, (int)m->column + 1,
			             "nesting deeper than %d levels",
			             DK_YAML_MAX_DEPTH);
			p->fatal = 1;
			return -1;
		}
		if (count_node(p, m) < 0)
			return -1;
		n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? DK_YSEQ
		                                                   : DK_YMAP,
		             m);
		if (!n)
			return -1;
		if (push_child(p, n) < 0)
			return -1;
		p->stack[p->depth].node = n;
		p->stack[p->depth].pending_key = NULL;
		p->stack[p->depth].cap = 0;
		p->depth++;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (p->depth > 0) {
			p->depth--;
			dk_ynode_free(p->stack[p->depth].pending_key);
			p->stack[p->depth].pending_key = NULL;
		}
		return 0;
	default:
		return 0;
	}
}

int dk_yaml_parse(struct dk_ynode **out, const char *buf, size_t len,
                  struct dk_diags *d)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	struct parser p;
	size_t before = d->n + d->dropped;
	int line, col, docs = 0, done = 0, rc = DK_EINVALID;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.d = d;
	if (len > DK_YAML_MAX_BYTES) {
		dk_diags_add(d, 1, 1,
		             "expected at most %d bytes (1 MiB), the file has "
		             "%zu",
		             DK_YAML_MAX_BYTES, len);
		return DK_EINVALID;
	}
	if (utf8_check(buf, len, &line, &col) < 0) {
		dk_diags_add(d, line, col,
		             "expected UTF-8 text, found an invalid byte");
		return DK_EINVALID;
	}
	if (!yaml_parser_initialize(&yp))
		return dk_error_set(DK_ERROR, "out of memory");
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&yp, &ev)) {
			const yaml_mark_t *m =
			    yp.problem ? &yp.problem_mark : &yp.mark;
			if (yp.context)
				dk_diags_add(
				    d, (int)m->line + 1, (int)m->column + 1,
				    "invalid YAML: %s %s started at "
				    "line %d column %d",
				    yp.problem ? yp.problem : "syntax error",
				    yp.context, (int)yp.context_mark.line + 1,
				    (int)yp.context_mark.column + 1);
			else
				dk_diags_add(
				    d, (int)m->line + 1, (int)m->column + 1,
				    "invalid YAML: %s",
				    yp.problem ? yp.problem : "syntax error");
			p.fatal = 1;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (handle_event(&p, &ev, &docs) < 0 && !p.fatal) {
			yaml_event_delete(&ev);
			rc = dk_error_set(DK_ERROR, "out of memory");
			p.fatal = 1;
			break;
		}
		yaml_event_delete(&ev);
		if (p.fatal)
			break;
	}
	yaml_parser_delete(&yp);
	for (size_t i = 0; i < p.ndiscard; i++)
		dk_ynode_free(p.discard[i]);
	free(p.discard);
	while (p.depth > 0) {
		p.depth--;
		dk_ynode_free(p.stack[p.depth].pending_key);
	}
	if (!p.fatal && !p.root)
		dk_diags_add(d, 1, 1,
		             "expected a mapping with the workflow's keys, "
		             "the file is empty");
	if (d->n + d->dropped > before || p.fatal) {
		dk_ynode_free(p.root);
		return rc;
	}
	*out = p.root;
	return 0;
}

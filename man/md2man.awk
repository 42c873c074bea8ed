# Converts docs/cmdline.md (the subset of Markdown it uses: headings,
# paragraphs, "-" lists, indented and fenced code, pipe tables, `code`,
# **bold**, [links](x)) into man(7) source, so the man page and the
# tested docs are one text. mawk-compatible (no gawk extensions).
# Variables: title, section, name, desc, date, source, seealso.

function esc(s) {
	gsub(/\\/, "\\e", s)
	return s
}

function inline(s,    out, i, c) {
	s = esc(s)
	# [text](target): keep the text; name other documents.
	while (match(s, /\[[^]]*\]\([^)]*\)/)) {
		link = substr(s, RSTART, RLENGTH)
		mid = index(link, "](")
		text = substr(link, 2, mid - 2)
		target = substr(link, mid + 2, length(link) - mid - 2)
		if (target ~ /^#/) repl = text
		else repl = text " (" target ")"
		s = substr(s, 1, RSTART - 1) repl substr(s, RSTART + RLENGTH)
	}
	# A link split over two lines: drop the markup, keep the words.
	if (match(s, /\[[^]]*$/)) s = substr(s, 1, RSTART - 1) substr(s, RSTART + 1)
	gsub(/\]\([^)]*\)/, "", s)
	while (match(s, /\*\*[^*]+\*\*/))
		s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 2, RLENGTH - 4) "\\fR" substr(s, RSTART + RLENGTH)
	while (match(s, /`[^`]+`/))
		s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
	return s
}

# A text line may not start with a control character.
function line(s) {
	if (s ~ /^[.']/) s = "\\&" s
	return s
}

# mandoc warns about a paragraph macro right after a heading.
function pp() {
	if (!fresh) print ".PP"
	fresh = 0
}

function endblocks() {
	if (inlist) { inlist = 0 }
	if (intable) { print ".TE"; intable = 0 }
	if (incode) { print ".EE"; print ".RE"; incode = 0 }
}

function cells(s,    n, i, raw) {
	gsub(/\\\|/, "\001", s)
	sub(/^[ \t]*\|/, "", s)
	sub(/\|[ \t]*$/, "", s)
	n = split(s, raw, "|")
	for (i = 1; i <= n; i++) {
		c = raw[i]
		gsub(/^[ \t]+|[ \t]+$/, "", c)
		gsub(/\001/, "|", c)
		cell[i] = inline(c)
	}
	return n
}

BEGIN {
	printf ".TH %s %s %s \"%s\" \"%s\"\n", toupper(title), section, date, source, source " manual"
	print ".SH NAME"
	print name " \\- " desc
	print ".SH DESCRIPTION"
	fresh = 1
	started = 0
}

# The document's own title becomes NAME above.
/^# / && !started { started = 1; next }

fence {
	if ($0 ~ /^```/) { print ".EE"; print ".RE"; fence = 0; next }
	print line(esc($0))
	next
}

/^```/ {
	endblocks()
	kind = substr($0, 4)
	pp()
	if (kind == "cmdline") print "The cmdline"
	else if (kind == "expect") print "gives (\\fBnetinit explain \\-\\-json\\fR, path = value):"
	else if (kind == "expect-error") print "is refused with:"
	print ".RS 4"
	print ".EX"
	fence = 1
	next
}

/^## / { endblocks(); print ".SH " toupper(inline(substr($0, 4))); para = 0; fresh = 1; next }
/^### / { endblocks(); print ".SS " inline(substr($0, 5)); para = 0; fresh = 1; next }

/^[ \t]*$/ {
	if (incode) { pendingblank++; next }
	if (intable) { print ".TE"; intable = 0 }
	inlist = 0
	para = 0
	next
}

/^    / && !inlist {
	if (!incode) { endblocks(); pp(); print ".RS 4"; print ".EX"; incode = 1; pendingblank = 0 }
	for (; pendingblank > 0; pendingblank--) print ""
	print line(esc(substr($0, 5)))
	next
}

incode { print ".EE"; print ".RE"; incode = 0 }

/^\|/ {
	n = cells($0)
	if (!intable) {
		endblocks()
		fresh = 0
		print ".TS"
		print "tab(@) allbox;"
		fmt = ""
		for (i = 1; i < n; i++) fmt = fmt "lb "
		print fmt "lb"
		fmt = ""
		for (i = 1; i < n; i++) fmt = fmt "l "
		print fmt "lx."
		intable = 1
	} else if ($0 ~ /^\|[-| :]+\|[ \t]*$/) {
		next
	}
	row = ""
	for (i = 1; i <= n; i++) {
		c = cell[i]
		if (c == "") c = "\\&"
		if (i == n) c = "T{\n" line(c) "\nT}"
		row = row (i > 1 ? "@" : "") c
	}
	print row
	next
}

/^- / {
	endblocks()
	fresh = 0
	print ".IP \\(bu 2"
	print line(inline(substr($0, 3)))
	inlist = 1
	next
}

inlist && /^  / {
	s = $0
	sub(/^ +/, "", s)
	print line(inline(s))
	next
}

{
	if (!para) { pp(); para = 1 }
	print line(inline($0))
}

END {
	endblocks()
	if (seealso != "") { print ".SH SEE ALSO"; print seealso }
}

#!/usr/bin/env python3
"""Writes the enrolld.conf(5) man page (roff) to stdout from the commented default configuration,
Packaging/enrolld.conf, so that the page always lists every key with its default and its comment.
That file is the output of `enrolld --print-default-config` (Configuration.table in
Sources/DaemonCore/ConfigurationTable.swift); ConfigurationTableTests checks both against the table.
In a section, comment lines followed by a blank line describe the section; comment lines followed by
`#key = default` describe that key (a line `# Example: key = value` is shown on a line of its own).
usage: docs/enrolld.conf.5.py [Packaging/enrolld.conf [VERSION]]"""
import re
import sys

HEADER = r'''.TH ENROLLD.CONF 5 "" "enrolld @VERSION@" "File Formats"
.SH NAME
enrolld.conf \- configuration of the enrolld identity enrollment daemon
.SH SYNOPSIS
.I /etc/enrolld/enrolld.conf
.SH DESCRIPTION
.BR enrolld (8)
reads an INI\-style file: \fB[section]\fP headers, \fIkey\fP \fB=\fP \fIvalue\fP lines, and comments
starting with \fB#\fP or \fB;\fP. Every key is optional; the defaults are shown below and in the
commented file the package installs (\fBenrolld \-\-print\-default\-config\fP writes it). An empty
value means unset or none. Unknown sections and keys are errors, reported with the
file, line and key: run \fBenrolld \-\-check\-config\fP after editing;
\fBenrolld \-\-print\-config\fP shows every setting in effect. The daemon reads the
file at start; \fBSIGHUP\fP reloads the trust store only.
.PP
Under systemd the API socket comes from \fIenrolld.socket\fP, whose \fBListenStream=\fP,
\fBSocketMode=\fP and \fBSocketGroup=\fP then take the place of the \fB[api]\fP socket keys, and
the unit sets \fBENROLLD_MODEL_DIR=/usr/share/enrolld/models\fP (package enrolld\-face\-models).'''

FOOTER = r'''.SH EXAMPLE
.nf
[api]
socket_group = kiosk
[face]
threshold = 0.45
[ca]
validity_years = 2
.fi
.SH FILES
.TP
.I /etc/enrolld/enrolld.conf
The configuration file (a conffile of package enrolld).
.SH SEE ALSO
.BR enrolld (8),
.BR enrollctl (1)'''


def roff(text):
    text = text.replace('\\', '\\\\').replace('-', '\\-')
    return '\\&' + text if text.startswith(('.', "'")) else text


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else 'Packaging/enrolld.conf'
    version = sys.argv[2] if len(sys.argv) > 2 else ''
    out = [HEADER.replace('@VERSION@', version)]
    comments = []
    in_section = key_seen = False
    for line in open(path, encoding='utf-8').read().splitlines():
        section = re.match(r'^\[(\w+)\]$', line)
        key = re.match(r'^#(\w+) =(?: (.*))?$', line)
        comment = re.match(r'^# ?(.*)$', line)
        if section:
            out.append('.SH [%s]' % section.group(1))
            in_section, key_seen, comments = True, False, []
        elif key and in_section:
            value = key.group(2) or ''
            out.append('.TP\n.BR %s " =%s"' % (key.group(1), ' ' + roff(value) if value else ''))
            text = [c for c in comments if not c.startswith('Example: ')]
            examples = [c for c in comments if c.startswith('Example: ')]
            if text:
                out.append(roff(' '.join(text)))
            for example in examples:
                out.append('.br\n' + roff(example))
            comments, key_seen = [], True
        elif comment and in_section:
            comments.append(comment.group(1))
        elif not line.strip():
            if comments and in_section and not key_seen:
                out.append(roff(' '.join(comments)))
            comments = []
    out.append(FOOTER)
    sys.stdout.write('\n'.join(out) + '\n')


main()

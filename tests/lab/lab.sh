#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lab.sh: the test "internet" of mtasts: an authoritative DNS server (NSD)
# for the zone test. and an HTTPS server (nginx) for every policy host,
# all on 127.0.0.0/8. Everything is generated afresh on each start from
# scenarios.bash (see README.md in this directory).
#
#   lab.sh start     generate and start (env LAB_BULK=N adds N domains)
#   lab.sh stop      stop the servers started by the last start
#   lab.sh status    exit 0 if both servers run, 3 otherwise
#   lab.sh tsv       print scenarios.tsv (generated from scenarios.bash)
#   lab.sh expect    print the extra JSON checks: DOMAIN TAB PATH TAB VALUE
#   lab.sh mxhosts   print the MX host table (name, address, cert, kind, ...)
#   lab.sh mail      print the delivery expectations: DOMAIN TAB OUTCOME TAB RE
#
# The MX hosts (SMTP on 127.0.3.N:25) are smtpd services of one
# "receiving" Postfix instance under $LAB_DIR/mx that delivers every
# message for *.test into a maildir per domain.
#
# Usually run through run-in-lab.sh, which gives the lab its own network
# and mount namespaces so that ports 25, 53 and 443 are free.
set -euo pipefail
export LC_ALL=C

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${MTASTS_LAB_DIR:-/tmp/mtasts-lab}
LAB_DNS_ADDR=${LAB_DNS_ADDR:-127.0.0.1}
LAB_DNS_PORT=${LAB_DNS_PORT:-53}
LAB_BULK=${LAB_BULK:-0}
LAB_BULK_CHUNK=${LAB_BULK_CHUNK:-100}
LAB_START_TIMEOUT=${LAB_START_TIMEOUT:-20}
LAB_NGINX_MODULES=${LAB_NGINX_MODULES:-/usr/lib/nginx/modules}
LAB_PROBE_ADDR=127.0.0.8	# internal readiness probe
LAB_BULK_ADDR=127.0.0.9		# shared by all bulk policy hosts
LAB_FIRST_HOST=10		# scenario N gets 127.0.0.(10 + N)
LAB_MX=${LAB_MX:-auto}		# MX hosts: auto (if Postfix is there), 1, 0
LAB_MX_SLOW=${LAB_MX_SLOW:-5}	# seconds before slow.mx.test's banner
LAB_BULK_MIX=${LAB_BULK_MIX:-0}
# MX of bulk domain k: word (k - 1) mod n of this list (n words). Short
# names are MX host names under mx.test. LAB_BULK_MIX=1 uses the second.
LAB_BULK_MX_CYCLE=${LAB_BULK_MX_CYCLE:-bulk1 bulk2 bulk3 bulk4}
LAB_BULK_MIX_CYCLE=${LAB_BULK_MIX_CYCLE:-bulk1 bulk2 bulk3 bulk4 bulk1 \
bulk2 bulk3 bulk4 bulk1 bulk2 bulk3 bulk4 expired wrongname selfsigned \
nochain nostarttls tls10 refused busy good.mx-elsewhere.test}
LAB_POSTFIX_DAEMONS=${LAB_POSTFIX_DAEMONS:-/usr/lib/postfix/sbin}
# MX host kinds served by hostile-smtp.py instead of Postfix.
HOSTILE_KINDS='endless|giantline|drip|silent|tlsalert|garbage|badreply'
TTL=300

die() {
	printf 'lab: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Scenario table: the functions used by scenarios.bash.

S_N=0
declare -a S_DOMAIN=() S_RESULT=() S_FAILURE=() S_MODE=() S_REGEX=() \
	S_DESC=() S_ADDR=() S_TXT=() S_TXTSET=() S_ZONE=() S_HOST=() \
	S_CERT=() S_PROTO=() S_CIPH=() S_BODY=() S_BODYSET=() S_LOC=() \
	S_SRV=() S_BROKEN=() S_EXPECT=() S_MXH=() S_MAIL=() S_TTL=()
M_N=0
declare -a M_NAME=() M_CERT=() M_KIND=() M_DESC=() M_ADDR=() M_OPTS=()

# Address number n (10, 11, ...) -> 127.0.x.y
lab_addr() {
	printf '127.0.%d.%d' $(($1 / 256)) $(($1 % 256))
}

cur() {
	# load_scenarios fills in defaults with I and D preset (CUR_FIXED=1).
	[[ -z ${CUR_FIXED:-} ]] || return 0
	((S_N > 0)) || die "scenarios.bash: '$1' before the first scenario"
	I=$((S_N - 1))
	D=${S_DOMAIN[I]}
}

scenario() {
	(($# == 6)) || die "scenario: need 6 fields, got $#: $*"
	local f
	for f in "$@"; do
		[[ $f != *[$'\t\n\r']* && -n $f ]] ||
			die "scenario $1: empty field or field with tab/newline"
	done
	[[ $1 =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.test$ ]] ||
		die "scenario $1: domain must be a lower-case name under .test"
	[[ $2 =~ ^(policy|no-policy|temperror|error)$ ]] ||
		die "scenario $1: bad result '$2'"
	[[ $3 =~ ^(-|sts-policy-fetch-error|sts-policy-invalid|sts-webpki-invalid)$ ]] ||
		die "scenario $1: bad failure '$3'"
	[[ $4 =~ ^(-|enforce|testing|none)$ ]] ||
		die "scenario $1: bad mode '$4'"
	local i=$S_N
	for ((f = 0; f < i; f++)); do
		[[ ${S_DOMAIN[f]} != "$1" ]] || die "scenario $1: defined twice"
	done
	S_DOMAIN[i]=$1 S_RESULT[i]=$2 S_FAILURE[i]=$3 S_MODE[i]=$4
	S_REGEX[i]=$5 S_DESC[i]=$6
	S_ADDR[i]=$(lab_addr $((LAB_FIRST_HOST + i)))
	S_TXT[i]='' S_TXTSET[i]=0 S_ZONE[i]='' S_HOST[i]=serve S_CERT[i]=ok
	S_PROTO[i]='TLSv1.2 TLSv1.3' S_CIPH[i]='' S_BODY[i]='' S_BODYSET[i]=0
	S_LOC[i]='' S_SRV[i]='' S_BROKEN[i]='' S_EXPECT[i]='' S_MXH[i]=''
	S_MAIL[i]='' S_TTL[i]=$TTL
	S_N=$((i + 1))
}

# One zone-file character-string: quoted, with \" \\ and \DDD escapes.
zone_string() {
	local s=$1 out='' c k
	((${#s} <= 255)) || die "TXT string longer than 255 bytes: $s"
	for ((k = 0; k < ${#s}; k++)); do
		c=${s:k:1}
		case $c in
		'"' | \\) out+="\\$c" ;;
		[[:print:]]) out+=$c ;;
		*) out+=$(printf '\\%03d' "'$c") ;;
		esac
	done
	printf '"%s"' "$out"
}

txt() {
	cur txt
	(($# > 0)) || die "$D: txt needs at least one string"
	local s line=''
	for s in "$@"; do line+=" $(zone_string "$s")"; done
	((S_TXTSET[I])) || S_TXT[I]=''
	S_TXTSET[I]=1
	S_TXT[I]+="_mta-sts.$D. ${S_TTL[I]} IN TXT$line"$'\n'
}

# TTL of the scenario's _mta-sts TXT records (use before any txt line).
ttl() {
	cur ttl
	[[ $1 =~ ^[0-9]+$ ]] || die "$D: ttl: bad TTL '$1'"
	((!S_TXTSET[I])) || die "$D: ttl must come before txt"
	S_TTL[I]=$1
}

no_txt() {
	cur no_txt
	S_TXTSET[I]=1 S_TXT[I]=''
}

rr() {
	cur rr
	(($# >= 3)) || die "$D: rr OWNER TYPE RDATA..."
	local owner=${1//\{d\}/$D} type=$2
	shift 2
	local rdata="$*"
	S_ZONE[I]+="$owner $TTL IN $type ${rdata//\{d\}/$D}"$'\n'
}

host() {
	cur host
	[[ $1 =~ ^(serve|none|nodata|refused|plain)$ ]] ||
		die "$D: bad host kind '$1'"
	S_HOST[I]=$1
}

cert() {
	cur cert
	[[ $1 =~ ^(ok|wrongname|cn-only|expired|notyet|untrusted|wildcard|partialwild|chain|nochain)$ ]] ||
		die "$D: bad cert kind '$1'"
	S_CERT[I]=$1
}

tls() {
	cur tls
	S_PROTO[I]=$1 S_CIPH[I]=${2:-}
}

body_raw() {
	cur body_raw
	S_BODY[I]=$1 S_BODYSET[I]=1
}

# Sets JOINED to the arguments after $1, each followed by $1 (no command
# substitution: it would drop the final line end).
join_lines() {
	local term=$1 l
	shift
	JOINED=''
	for l in "$@"; do JOINED+="$l$term"; done
}

body_crlf() {
	cur body_crlf
	join_lines $'\r\n' "$@"
	body_raw "$JOINED"
}

body_lf() {
	cur body_lf
	join_lines $'\n' "$@"
	body_raw "$JOINED"
}

body_pad() {
	cur body_pad
	local want=$1 b k=0 line
	join_lines $'\n' "version: STSv1" "mode: enforce" "mx: mx1.$D" \
		"max_age: 86400"
	b=$JOINED
	while ((${#b} < want)); do
		k=$((k + 1))
		printf -v line 'x-pad%06d: %0100d' "$k" 0
		b+="$line"$'\n'
	done
	body_raw "${b:0:want}"
}

nginx() {
	cur nginx
	local d
	for d in "$@"; do S_LOC[I]+="		$d"$'\n'; done
}

server() {
	cur server
	local d
	for d in "$@"; do S_SRV[I]+="	$d"$'\n'; done
}

# Policy lines for the echo module (mode from the MODE column).
echo_policy() {
	local mode=${S_MODE[I]}
	[[ $mode != - ]] || mode=enforce
	nginx "echo \"mode: $mode\";" "echo \"mx: mx1.$D\";" \
		'echo "max_age: 86400";'
}

drip() {
	cur drip
	local k
	nginx 'echo "version: STSv1";' 'echo_flush;'
	for ((k = 1; k <= $1; k++)); do
		nginx 'echo_sleep 1;' "echo \"x-drip$k: $k\";" 'echo_flush;'
	done
	echo_policy
}

stall() {
	cur stall
	nginx "echo_sleep $1;" 'echo "version: STSv1";'
	echo_policy
}

huge_headers() {
	cur huge_headers
	local k value
	printf -v value "%0$2d" 0
	for ((k = 1; k <= $1; k++)); do
		nginx "add_header X-Lab-Fill-$k $value;"
	done
}

broken_zone() {
	cur broken_zone
	S_BROKEN[I]+="${1//\{d\}/$D} "
}

expect() {
	cur expect
	(($# == 2)) || die "$D: expect PATH VALUE"
	[[ $1 != *[$'\t\n']* && $2 != *[$'\t\n']* ]] ||
		die "$D: expect: no tabs or newlines"
	S_EXPECT[I]+="$D"$'\t'"$1"$'\t'"$2"$'\n'
}

# MX hosts: "mxhost NAME CERT KIND DESCRIPTION [NAME=VALUE...]". NAME
# without a dot means NAME.mx.test. Host N (table order, from 0) listens
# on 127.0.3.(1 + N):25. The NAME=VALUE pairs become "-o" options of its
# smtpd service.
mx_fqdn() {
	if [[ $1 == *.* ]]; then REPLY=$1; else REPLY=$1.mx.test; fi
}

mxhost() {
	(($# >= 4)) || die "mxhost: need NAME CERT KIND DESCRIPTION, got: $*"
	local name cert=$2 kind=$3 i=$M_N k o
	mx_fqdn "$1"
	name=$REPLY
	[[ $name =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.test$ ]] ||
		die "mxhost $1: name must be a lower-case name under .test"
	[[ $kind =~ ^(starttls|plain|tls10|slow|busy|refused|$HOSTILE_KINDS)$ ]] ||
		die "mxhost $1: bad kind '$kind'"
	[[ $cert =~ ^(-|ok|wrongname|cn-only|expired|notyet|untrusted|selfsigned|chain|nochain)$ ]] ||
		die "mxhost $1: bad certificate kind '$cert'"
	if [[ $kind =~ ^(plain|refused|$HOSTILE_KINDS)$ ]]; then
		[[ $cert == - ]] || die "mxhost $1: kind $kind takes no certificate (-)"
	else
		[[ $cert != - ]] || die "mxhost $1: kind $kind needs a certificate"
	fi
	for ((k = 0; k < i; k++)); do
		[[ ${M_NAME[k]} != "$name" ]] || die "mxhost $name: defined twice"
	done
	((i < 254)) || die "mxhost: at most 254 MX hosts"
	M_NAME[i]=$name M_CERT[i]=$cert M_KIND[i]=$kind M_DESC[i]=$4
	M_ADDR[i]=127.0.3.$((i + 1)) M_OPTS[i]=''
	shift 4
	for o in "$@"; do
		[[ $o =~ ^[a-z0-9_]+=[^[:space:]]*$ ]] ||
			die "mxhost $name: option '$o' is not NAME=VALUE"
		M_OPTS[i]+=" -o $o"
	done
	M_N=$((i + 1))
}

mx() {
	cur mx
	(($# >= 1 && $# <= 2)) || die "$D: mx HOST [PREFERENCE]"
	mx_fqdn "$1"
	local pref=${2:-10}
	[[ $pref =~ ^[0-9]+$ ]] || die "$D: mx: bad preference '$pref'"
	S_ZONE[I]+="$D. $TTL IN MX $pref $REPLY."$'\n'
	S_MXH[I]+="$REPLY "
}

deliver() {
	cur deliver
	(($# >= 1 && $# <= 2)) || die "$D: deliver OUTCOME [REGEX]"
	[[ $1 =~ ^(verified|delivered|deferred)$ ]] ||
		die "$D: deliver: bad outcome '$1'"
	[[ ${2:--} != *[$'\t\n']* ]] || die "$D: deliver: no tabs or newlines"
	S_MAIL[I]="$D"$'\t'"$1"$'\t'"${2:--}"$'\n'
}

load_scenarios() {
	# shellcheck source=/dev/null
	. "$LAB_SRC/scenarios.bash"
	((S_N > 0)) || die "no scenarios in scenarios.bash"
	local i mode CUR_FIXED=1
	for ((i = 0; i < S_N; i++)); do
		I=$i D=${S_DOMAIN[i]}
		if ((!S_TXTSET[i])); then
			local id=${D//[^a-z0-9]/}
			txt "v=STSv1; id=${id:0:31}1"
		fi
		if ((!S_BODYSET[i])); then
			mode=${S_MODE[i]}
			[[ $mode != - ]] || mode=enforce
			if [[ $mode == none ]]; then
				body_crlf "version: STSv1" "mode: none" "max_age: 86400"
			elif [[ -n ${S_MXH[i]} ]]; then
				local -a lines=("version: STSv1" "mode: $mode")
				local h
				for h in ${S_MXH[i]}; do lines+=("mx: $h"); done
				body_crlf "${lines[@]}" "max_age: 86400"
			else
				body_crlf "version: STSv1" "mode: $mode" "mx: mx1.$D" \
					"mx: *.mx.$D" "max_age: 86400"
			fi
		fi
	done
}

cmd_mail() {
	load_scenarios
	local i
	for ((i = 0; i < S_N; i++)); do printf '%s' "${S_MAIL[i]}"; done
}

cmd_mxhosts() {
	load_scenarios
	cmd_mxhosts_rows
}

cmd_expect() {
	load_scenarios
	local i
	for ((i = 0; i < S_N; i++)); do printf '%s' "${S_EXPECT[i]}"; done
}

cmd_tsv() {
	load_scenarios
	local i
	printf 'domain\tresult\tfailure\tmode\treason_regex\tdescription\n'
	for ((i = 0; i < S_N; i++)); do
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${S_DOMAIN[i]}" \
			"${S_RESULT[i]}" "${S_FAILURE[i]}" "${S_MODE[i]}" \
			"${S_REGEX[i]}" "${S_DESC[i]}"
	done
}

# ---------------------------------------------------------------------------
# Certificates. One EC P-256 key for all leaves (fast); per-run CAs.

SERIAL=1000
OSSL_CNF=
CA_CNF=

ca_new() { # name cn [issuer]
	local name=$1 cn=$2 issuer=${3:-}
	local out=$LAB_DIR/ca/$name
	if [[ -z $issuer ]]; then
		openssl req -x509 -config "$OSSL_CNF" -newkey ec \
			-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out.key" \
			-subj "/CN=$cn" -days 30 \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign \
			-out "$out.pem" 2>>"$LAB_DIR/logs/openssl.log"
	else
		SERIAL=$((SERIAL + 1))
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$out.key" 2>>"$LAB_DIR/logs/openssl.log"
		openssl req -x509 -config "$OSSL_CNF" -new -key "$out.key" \
			-subj "/CN=$cn" -days 30 -set_serial "$SERIAL" \
			-CA "$LAB_DIR/ca/$issuer.pem" -CAkey "$LAB_DIR/ca/$issuer.key" \
			-addext basicConstraints=critical,CA:TRUE,pathlen:0 \
			-addext keyUsage=critical,keyCertSign,cRLSign \
			-out "$out.pem" 2>>"$LAB_DIR/logs/openssl.log"
	fi
}

leaf() { # out cn san(or "") issuer
	local out=$1 cn=$2 san=$3 issuer=$4
	# shellcheck disable=SC2054 # the commas belong to openssl's syntax
	local -a ext=(-addext extendedKeyUsage=serverAuth
		-addext keyUsage=critical,digitalSignature)
	[[ -z $san ]] || ext+=(-addext "subjectAltName=$san")
	SERIAL=$((SERIAL + 1))
	openssl req -x509 -config "$OSSL_CNF" -new -key "$LAB_DIR/ca/leaf.key" \
		-subj "/CN=$cn" "${ext[@]}" -days 30 -set_serial "$SERIAL" \
		-CA "$LAB_DIR/ca/$issuer.pem" -CAkey "$LAB_DIR/ca/$issuer.key" \
		-out "$out" 2>>"$LAB_DIR/logs/openssl.log"
}

leaf_dated() { # out host start end (openssl ca: no faketime needed)
	local out=$1 host=$2 start=$3 end=$4 csr=$LAB_DIR/ca/dated.csr
	openssl req -new -config "$OSSL_CNF" -key "$LAB_DIR/ca/leaf.key" \
		-subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
		-addext extendedKeyUsage=serverAuth -out "$csr" \
		2>>"$LAB_DIR/logs/openssl.log"
	openssl ca -batch -config "$CA_CNF" -notext -startdate "$start" \
		-enddate "$end" -in "$csr" -out "$out" \
		>>"$LAB_DIR/logs/openssl.log" 2>&1
}

make_cert() { # host kind out
	local host=$1 kind=$2 out=$3 base=${1#mta-sts.}
	case $kind in
	ok) leaf "$out" "$host" "DNS:$host" ca ;;
	wildcard) leaf "$out" "*.$base" "DNS:*.$base" ca ;;
	partialwild) leaf "$out" "mta*.$base" "DNS:mta*.$base" ca ;;
	wrongname)
		leaf "$out" www.elsewhere.test DNS:www.elsewhere.test ca ;;
	cn-only) leaf "$out" "$host" "" ca ;;
	expired) leaf_dated "$out" "$host" 20200101000000Z 20200401000000Z ;;
	notyet) leaf_dated "$out" "$host" 20490101000000Z 20491231000000Z ;;
	untrusted) leaf "$out" "$host" "DNS:$host" rogue ;;
	chain)
		leaf "$out.leaf" "$host" "DNS:$host" inter
		cat "$out.leaf" "$LAB_DIR/ca/inter.pem" >"$out"
		;;
	nochain) leaf "$out" "$host" "DNS:$host" inter ;;
	selfsigned)
		openssl req -x509 -config "$OSSL_CNF" -new \
			-key "$LAB_DIR/ca/leaf.key" -subj "/CN=$host" \
			-addext "subjectAltName=DNS:$host" \
			-addext extendedKeyUsage=serverAuth -days 30 \
			-out "$out" 2>>"$LAB_DIR/logs/openssl.log"
		;;
	esac
}

write_ossl_configs() {
	OSSL_CNF=$LAB_DIR/ca/req.cnf
	CA_CNF=$LAB_DIR/ca/ca.cnf
	printf '%s\n' '[req]' 'distinguished_name = dn' 'prompt = no' \
		'[dn]' 'CN = unused' >"$OSSL_CNF"
	mkdir -p "$LAB_DIR/ca/issued"
	: >"$LAB_DIR/ca/index.txt"
	echo 5000 >"$LAB_DIR/ca/serial"
	cat >"$CA_CNF" <<EOF
[ca]
default_ca = lab_ca
[lab_ca]
database = $LAB_DIR/ca/index.txt
new_certs_dir = $LAB_DIR/ca/issued
serial = $LAB_DIR/ca/serial
certificate = $LAB_DIR/ca/ca.pem
private_key = $LAB_DIR/ca/ca.key
default_md = sha256
policy = pol_any
unique_subject = no
copy_extensions = copy
[pol_any]
commonName = supplied
EOF
}

# ---------------------------------------------------------------------------
# Generation.

nginx_server() { # listen server_names cert docroot protocols ciphers extra loc
	local listen=$1 names=$2 crt=$3 root=$4 proto=$5 ciph=$6 srv=$7 loc=$8
	printf '    server {\n'
	if [[ -n $crt ]]; then
		printf '\tlisten %s:443 ssl;\n' "$listen"
		printf '\tssl_certificate "%s";\n' "$crt"
		printf '\tssl_certificate_key "%s";\n' "$LAB_DIR/ca/leaf.key"
		printf '\tssl_protocols %s;\n' "$proto"
		[[ -z $ciph ]] || printf '\tssl_ciphers "%s";\n' "$ciph"
	else
		printf '\tlisten %s:443;\n' "$listen"
	fi
	printf '\tserver_name %s;\n' "$names"
	printf '\troot "%s";\n' "$root"
	printf '%s' "$srv"
	printf '\tlocation = /.well-known/mta-sts.txt {\n%s\t}\n' "$loc"
	printf '\tlocation / { return 404; }\n'
	printf '    }\n'
}

gen_scenarios() { # appends to zone ($1) and nginx servers ($2)
	local zone=$1 servers=$2 i d h www crt z
	for ((i = 0; i < S_N; i++)); do
		d=${S_DOMAIN[i]} h=mta-sts.${S_DOMAIN[i]}
		{
			printf '; %s\n' "$d"
			printf '%s' "${S_TXT[i]}" "${S_ZONE[i]}"
			case ${S_HOST[i]} in
			serve | refused | plain)
				printf '%s. %s IN A %s\n' "$h" "$TTL" "${S_ADDR[i]}" ;;
			nodata)
				printf '%s. %s IN TXT "no address here"\n' "$h" "$TTL" ;;
			none) ;;
			esac
		} >>"$zone"
		for z in ${S_BROKEN[i]}; do BROKEN_ZONES+=("$z"); done
		case ${S_HOST[i]} in serve | plain) ;; *) continue ;; esac
		www=$LAB_DIR/www/$d
		mkdir -p "$www/.well-known"
		printf '%s' "${S_BODY[i]}" >"$www/.well-known/mta-sts.txt"
		crt=
		if [[ ${S_HOST[i]} == serve ]]; then
			crt=$LAB_DIR/certs/$h.pem
			make_cert "$h" "${S_CERT[i]}" "$crt"
		fi
		nginx_server "${S_ADDR[i]}" "$h" "$crt" "$www" "${S_PROTO[i]}" \
			"${S_CIPH[i]}" "${S_SRV[i]}" "${S_LOC[i]}" >>"$servers"
	done
}

gen_bulk() { # zone servers
	local zone=$1 servers=$2 n=$LAB_BULK c first last names san www
	[[ $n =~ ^[0-9]+$ ]] || die "LAB_BULK must be a number"
	((n > 0)) || return 0
	((n <= 99999)) || die "LAB_BULK is at most 99999"
	www=$LAB_DIR/www/bulk
	mkdir -p "$www/.well-known"
	printf 'version: STSv1\r\nmode: enforce\r\nmx: *.mx.test\r\nmax_age: 86400\r\n' \
		>"$www/.well-known/mta-sts.txt"
	awk -v n="$n" 'BEGIN { for (k = 1; k <= n; k++) printf "bulk%05d.test\n", k }' \
		>"$LAB_DIR/bulk-domains.txt"
	# MX of each bulk domain, cycling through the list; bulk-mx.tsv says
	# which MX host (and so which case) each domain got.
	local cycle=$LAB_BULK_MX_CYCLE w
	[[ $LAB_BULK_MIX == 0 || -z $LAB_BULK_MIX ]] || cycle=$LAB_BULK_MIX_CYCLE
	local -a hosts=()
	for w in $cycle; do
		mx_fqdn "$w"
		hosts+=("$REPLY")
	done
	((${#hosts[@]} > 0)) || die "empty bulk MX cycle"
	awk -v hl="${hosts[*]}" 'BEGIN { nh = split(hl, h, " ") }
		{ printf "%s\t%s\n", $0, h[(NR - 1) % nh + 1] }' \
		"$LAB_DIR/bulk-domains.txt" >"$LAB_DIR/bulk-mx.tsv"
	awk -F '\t' -v ttl="$TTL" -v a="$LAB_BULK_ADDR" '{
		printf "_mta-sts.%s. %s IN TXT \"v=STSv1; id=bulk1\"\n", $1, ttl
		printf "mta-sts.%s. %s IN A %s\n", $1, ttl, a
		printf "%s. %s IN MX 10 %s.\n", $1, ttl, $2 }' \
		"$LAB_DIR/bulk-mx.tsv" >>"$zone"
	for ((first = 1; first <= n; first += LAB_BULK_CHUNK)); do
		last=$((first + LAB_BULK_CHUNK - 1))
		((last <= n)) || last=$n
		names=$(awk -v f="$first" -v l="$last" 'BEGIN {
			for (k = f; k <= l; k++) printf " mta-sts.bulk%05d.test", k }')
		san=$(printf '%s' "${names# }" | sed 's/^/DNS:/; s/ /,DNS:/g')
		c=$LAB_DIR/certs/bulk-$first.pem
		leaf "$c" "mta-sts.bulk$(printf %05d "$first").test" "$san" ca
		nginx_server "$LAB_BULK_ADDR" "${names# }" "$c" "$www" \
			'TLSv1.2 TLSv1.3' '' '' '' >>"$servers"
	done
}

# MX host zone lines and certificates; the Postfix instance if LAB_MX.
gen_mx() { # zone
	local zone=$1 i name crt h known k
	for ((i = 0; i < S_N; i++)); do
		for h in ${S_MXH[i]}; do
			[[ $h == *.mx.test ]] || continue
			known=0
			for ((k = 0; k < M_N; k++)); do
				[[ ${M_NAME[k]} != "$h" ]] || known=1
			done
			((known)) || die "${S_DOMAIN[i]}: mx $h: no such mxhost"
		done
	done
	{
		printf '; MX hosts\n'
		for ((i = 0; i < M_N; i++)); do
			printf '%s. %s IN A %s\n' "${M_NAME[i]}" "$TTL" "${M_ADDR[i]}"
		done
	} >>"$zone"
	cmd_mxhosts_rows >"$LAB_DIR/mxhosts.tsv"
	((MX_ON)) || return 0
	mkdir -p "$LAB_DIR/certs/mx"
	for ((i = 0; i < M_N; i++)); do
		[[ ${M_CERT[i]} != - ]] || continue
		name=${M_NAME[i]}
		crt=$LAB_DIR/certs/mx/$name.crt
		make_cert "$name" "${M_CERT[i]}" "$crt"
		# smtpd_tls_chain_files: the key, then the certificates.
		cat "$LAB_DIR/ca/leaf.key" "$crt" >"$LAB_DIR/certs/mx/$name.pem"
	done
	write_postfix_mx
}

cmd_mxhosts_rows() {
	local i
	printf 'name\taddress\tcert\tkind\tdescription\n'
	for ((i = 0; i < M_N; i++)); do
		printf '%s\t%s\t%s\t%s\t%s\n' "${M_NAME[i]}" "${M_ADDR[i]}" \
			"${M_CERT[i]}" "${M_KIND[i]}" "${M_DESC[i]}"
	done
}

# The non-smtpd services every Postfix instance needs (chroot off).
postfix_base_services() {
	cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Queue and data directories as post-install would make them (postfix
# check is too slow for every lab start).
postfix_dirs() { # base
	local q=$1/queue d
	mkdir -p "$q" "$1/data" "$1/etc"
	chmod 755 "$q"
	for d in active bounce corrupt defer deferred flush hold incoming \
		private saved trace; do
		mkdir -m 700 "$q/$d"
	done
	mkdir -m 730 "$q/maildrop"
	mkdir -m 710 "$q/public"
	mkdir -m 755 "$q/pid"
	chmod 700 "$1/data"
	chown postfix "$q"/{active,bounce,corrupt,defer,deferred,flush,hold} \
		"$q"/{incoming,private,saved,trace} "$1/data"
	chown postfix:postdrop "$q/maildrop" "$q/public"
}

write_postfix_mx() {
	local base=$LAB_DIR/mx i o name uid gid
	uid=$(id -u postfix) gid=$(id -g postfix)
	postfix_dirs "$base"
	mkdir -p "$base/mail"
	chown postfix:postfix "$base/mail"
	# Catch-all per domain (virtual(8) refuses regexp $1 results, so a
	# texthash table: no postmap run needed).
	printf '/\\.test$/\tOK\n' >"$base/etc/vdomains"
	{
		for ((i = 0; i < S_N; i++)); do
			printf '@%s\t%s/\n' "${S_DOMAIN[i]}" "${S_DOMAIN[i]}"
		done
		[[ ! -s $LAB_DIR/bulk-domains.txt ]] ||
			awk '{ printf "@%s\t%s/\n", $0, $0 }' "$LAB_DIR/bulk-domains.txt"
	} >"$base/etc/vmailbox"
	cat >"$base/etc/main.cf" <<EOF
# The lab's receiving Postfix: one smtpd per MX host (master.cf); all mail
# for *.test goes to the maildir $base/mail/DOMAIN/.
compatibility_level = 3.6
queue_directory = $base/queue
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.lab.test
mydomain = lab.test
myorigin = \$myhostname
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $LAB_DIR/logs/mx-postfix.log
maillog_file_prefixes = $LAB_DIR
notify_classes =
default_transport = error:lab MX hosts do not send mail
relay_transport = \$default_transport
smtpd_banner = \$myhostname ESMTP lab
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
virtual_mailbox_domains = regexp:$base/etc/vdomains
virtual_mailbox_base = $base/mail
virtual_mailbox_maps = texthash:$base/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
# Used by master.cf: 421 before the greeting; a delay before the greeting.
lab_busy_restrictions = check_client_access static:{421 4.3.2 lab: service busy, try later}
lab_slow_restrictions = sleep $LAB_MX_SLOW
EOF
	{
		printf '# One smtpd per lab MX host (tests/lab/scenarios.bash).\n'
		for ((i = 0; i < M_N; i++)); do
			name=${M_NAME[i]}
			[[ ! ${M_KIND[i]} =~ ^(refused|$HOSTILE_KINDS)$ ]] || continue
			o="-o myhostname=$name"
			[[ ${M_CERT[i]} == - ]] ||
				o+=" -o smtpd_tls_chain_files=$LAB_DIR/certs/mx/$name.pem"
			case ${M_KIND[i]} in
			plain) o+=" -o smtpd_tls_security_level=none" ;;
			tls10) o+=" -o smtpd_tls_protocols=>=TLSv1"
				o+=" -o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0" ;;
			slow) o+=" -o smtpd_delay_reject=no"
				o+=" -o smtpd_client_restrictions=\$lab_slow_restrictions" ;;
			busy) o+=" -o smtpd_delay_reject=no"
				o+=" -o smtpd_client_restrictions=\$lab_busy_restrictions" ;;
			esac
			printf '%s:25 inet n - n - - smtpd %s%s\n' "${M_ADDR[i]}" \
				"$o" "${M_OPTS[i]}"
		done
		postfix_base_services
	} >"$base/etc/master.cf"
	postfix_backdate "$base/etc"
	for ((i = 0; i < M_N; i++)); do
		[[ ! ${M_KIND[i]} =~ ^($HOSTILE_KINDS)$ ]] ||
			printf '%s:%s\n' "${M_ADDR[i]}" "${M_KIND[i]}"
	done >"$base/hostile.args"
	[[ -s $base/hostile.args ]] || rm -f "$base/hostile.args"
}

# Postfix rereads a configuration file until its mtime is older than the
# read (up to a few seconds for a file written just now): backdate them.
postfix_backdate() { # dir
	touch -d "@$(($(date +%s) - 10))" "$1"/*
}

write_nsd_conf() {
	local z
	cat >"$LAB_DIR/nsd/nsd.conf" <<EOF
server:
	ip-address: $LAB_DNS_ADDR
	port: $LAB_DNS_PORT
	do-ip6: no
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$LAB_DIR/nsd"
	database: ""
	zonelistfile: "$LAB_DIR/nsd/zone.list"
	xfrdfile: "$LAB_DIR/nsd/xfrd.state"
	xfrdir: "$LAB_DIR/nsd"
	pidfile: "$LAB_DIR/nsd/nsd.pid"
	logfile: "$LAB_DIR/logs/nsd.log"
	verbosity: 1
	hide-version: yes
	# Response rate limiting would drop answers to the bulk benchmarks,
	# which ask thousands of questions from one address in seconds.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "test."
	zonefile: "test.zone"
EOF
	for z in "${BROKEN_ZONES[@]}"; do
		# The zone file is never written: NSD serves SERVFAIL for it.
		printf 'zone:\n\tname: "%s"\n\tzonefile: "missing-%s.zone"\n' \
			"$z" "$z" >>"$LAB_DIR/nsd/nsd.conf"
	done
}

write_nginx_conf() { # servers-file
	cat >"$LAB_DIR/nginx/nginx.conf" <<EOF
load_module "$LAB_NGINX_MODULES/ngx_http_echo_module.so";
daemon on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid "$LAB_DIR/nginx/nginx.pid";
lock_file "$LAB_DIR/nginx/nginx.lock";
error_log "$LAB_DIR/logs/nginx-error.log" notice;
events { worker_connections 8192; }
http {
    access_log "$LAB_DIR/logs/nginx-access.log";
    client_body_temp_path "$LAB_DIR/nginx/body";
    proxy_temp_path "$LAB_DIR/nginx/proxy";
    fastcgi_temp_path "$LAB_DIR/nginx/fastcgi";
    uwsgi_temp_path "$LAB_DIR/nginx/uwsgi";
    scgi_temp_path "$LAB_DIR/nginx/scgi";
    types { }
    default_type text/plain;
    server_tokens off;
    keepalive_timeout 10s;
    server_names_hash_max_size 262144;
    server_names_hash_bucket_size 128;
EOF
	cat "$1" >>"$LAB_DIR/nginx/nginx.conf"
	printf '}\n' >>"$LAB_DIR/nginx/nginx.conf"
}

# ---------------------------------------------------------------------------
# Processes.

pid_alive() { # pid comm ("nsd" also matches "nsd: main")
	local state
	[[ $1 =~ ^[0-9]+$ && -r /proc/$1/stat ]] || return 1
	local comm
	comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	[[ $comm == "$2" || $comm == "$2:"* ]] || return 1
	state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

# Postfix pads the pid in its pid files with spaces.
read_pid() { # file
	local p
	p=$(cat "$1" 2>/dev/null) || return 1
	printf '%s' "${p//[[:space:]]/}"
}

pidfile_alive() { # file comm
	[[ -s $1 ]] && pid_alive "$(read_pid "$1")" "$2"
}

stop_pidfile() { # file comm
	local pid k
	[[ -s $1 ]] || return 0
	pid=$(read_pid "$1")
	if pid_alive "$pid" "$2"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((k = 0; k < 50; k++)); do
			pid_alive "$pid" "$2" || break
			sleep 0.1
		done
		if pid_alive "$pid" "$2"; then
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.1
		fi
	fi
	rm -f "$1"
}

cmd_stop() {
	[[ -d $LAB_DIR ]] || return 0
	stop_pidfile "$LAB_DIR/mx/queue/pid/master.pid" master
	stop_pidfile "$LAB_DIR/mx/hostile.pid" python3
	stop_pidfile "$LAB_DIR/nginx/nginx.pid" nginx
	stop_pidfile "$LAB_DIR/nsd/nsd.pid" nsd
	rm -f "$LAB_DIR/env"
}

cmd_status() {
	local rc=0
	if pidfile_alive "$LAB_DIR/nsd/nsd.pid" nsd; then
		echo "nsd: running (pid $(cat "$LAB_DIR/nsd/nsd.pid")) on $LAB_DNS_ADDR@$LAB_DNS_PORT"
	else
		echo "nsd: not running"
		rc=3
	fi
	if pidfile_alive "$LAB_DIR/nginx/nginx.pid" nginx; then
		echo "nginx: running (pid $(cat "$LAB_DIR/nginx/nginx.pid"))"
	else
		echo "nginx: not running"
		rc=3
	fi
	if [[ -f $LAB_DIR/mx/etc/main.cf ]]; then
		if pidfile_alive "$LAB_DIR/mx/queue/pid/master.pid" master; then
			echo "postfix (MX hosts): running (pid $(read_pid "$LAB_DIR/mx/queue/pid/master.pid"))"
		else
			echo "postfix (MX hosts): not running"
			rc=3
		fi
	fi
	if [[ -f $LAB_DIR/mx/hostile.args ]]; then
		if pidfile_alive "$LAB_DIR/mx/hostile.pid" python3; then
			echo "hostile-smtp.py (MX hosts): running (pid $(read_pid "$LAB_DIR/mx/hostile.pid"))"
		else
			echo "hostile-smtp.py (MX hosts): not running"
			rc=3
		fi
	fi
	return $rc
}

start_failed() { # message log...
	local msg=$1 f
	shift
	printf 'lab: start failed: %s\n' "$msg" >&2
	for f in "$@"; do
		[[ -s $f ]] || continue
		printf -- '--- %s (last 30 lines)\n' "$f" >&2
		tail -n 30 "$f" >&2
	done
	cmd_stop
	exit 1
}

wait_ready() {
	local deadline=$((SECONDS + LAB_START_TIMEOUT)) grace=$((SECONDS + 2))
	local nsdlog=$LAB_DIR/logs/nsd.log ngxlog=$LAB_DIR/logs/nginx-error.log
	until [[ -n $(dig +short +time=1 +tries=1 -p "$LAB_DNS_PORT" \
		"@$LAB_DNS_ADDR" SOA test. 2>/dev/null) ]]; do
		pidfile_alive "$LAB_DIR/nsd/nsd.pid" nsd || ((SECONDS < grace)) ||
			start_failed "nsd is not running" "$nsdlog"
		((SECONDS < deadline)) ||
			start_failed "nsd does not answer on $LAB_DNS_ADDR@$LAB_DNS_PORT" "$nsdlog"
		sleep 0.1
	done
	until curl -sS -o /dev/null --max-time 2 --cacert "$LAB_DIR/ca/ca.pem" \
		--resolve "mta-sts.probe.test:443:$LAB_PROBE_ADDR" \
		https://mta-sts.probe.test/.well-known/mta-sts.txt 2>/dev/null; do
		((SECONDS < deadline)) ||
			start_failed "nginx does not answer on $LAB_PROBE_ADDR:443" "$ngxlog"
		sleep 0.1
	done
	((MX_ON)) || return 0
	local i addr=
	for ((i = 0; i < M_N; i++)); do
		[[ ${M_KIND[i]} != starttls ]] || { addr=${M_ADDR[i]}; break; }
	done
	until [[ ! -f $LAB_DIR/mx/hostile.args ]] ||
		pidfile_alive "$LAB_DIR/mx/hostile.pid" python3; do
		((SECONDS < deadline)) ||
			start_failed "hostile-smtp.py did not start" "$LAB_DIR/logs/hostile-smtp.log"
		sleep 0.1
	done
	[[ -n $addr ]] || return 0
	# A bare TCP connect: the listening socket belongs to master.
	until pidfile_alive "$LAB_DIR/mx/queue/pid/master.pid" master &&
		timeout 2 bash -c ": <>/dev/tcp/$addr/25" 2>/dev/null; do
		((SECONDS < deadline)) ||
			start_failed "postfix does not listen on $addr:25" \
				"$LAB_DIR/logs/mx-postfix.log" "$LAB_DIR/logs/postfix-start.log"
		sleep 0.1
	done
}

# MX_ON=1 if the MX hosts are to run (LAB_MX=1, or auto and Postfix found).
mx_decide() {
	MX_ON=0
	case $LAB_MX in
	0 | no) return 0 ;;
	1 | yes | auto) ;;
	*) die "LAB_MX must be auto, 1 or 0" ;;
	esac
	if [[ -x $LAB_POSTFIX_DAEMONS/master ]] && id postfix >/dev/null 2>&1 &&
		getent group postdrop >/dev/null && command -v python3 >/dev/null; then
		MX_ON=1
	elif [[ $LAB_MX != auto ]]; then
		die "LAB_MX=$LAB_MX but no Postfix ($LAB_POSTFIX_DAEMONS/master, user postfix, group postdrop) or no python3"
	fi
}

cmd_start() {
	local t
	for t in nsd nsd-checkconf nsd-checkzone nginx openssl dig curl awk timeout; do
		command -v "$t" >/dev/null || die "missing tool: $t"
	done
	[[ $LAB_DNS_ADDR == 127.* ]] || die "LAB_DNS_ADDR must be in 127.0.0.0/8"
	[[ -f $LAB_NGINX_MODULES/ngx_http_echo_module.so ]] ||
		die "no nginx echo module in $LAB_NGINX_MODULES"
	[[ -n $LAB_DIR && $LAB_DIR != / ]] || die "bad MTASTS_LAB_DIR"
	if pidfile_alive "$LAB_DIR/nsd/nsd.pid" nsd ||
		pidfile_alive "$LAB_DIR/nginx/nginx.pid" nginx; then
		die "a lab already runs in $LAB_DIR (lab.sh stop first)"
	fi
	mkdir -p "$LAB_DIR"
	if [[ -n $(ls -A "$LAB_DIR") && ! -e $LAB_DIR/.mtasts-lab ]]; then
		die "$LAB_DIR is not empty and not a lab directory"
	fi
	rm -rf "${LAB_DIR:?}"/{ca,certs,www,logs,nsd,nginx,mx,env,bulk-domains.txt} \
		"${LAB_DIR:?}"/{bulk-mx.tsv,mxhosts.tsv,resolv.conf}
	touch "$LAB_DIR/.mtasts-lab"
	mkdir -p "$LAB_DIR"/{ca,certs,www,logs,nsd,nginx}

	mx_decide
	load_scenarios
	write_ossl_configs
	ca_new ca "mtasts lab CA $(date +%s)-$$"
	ca_new rogue "mtasts lab rogue CA (not trusted)"
	ca_new inter "mtasts lab intermediate CA" ca
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$LAB_DIR/ca/leaf.key" 2>>"$LAB_DIR/logs/openssl.log"

	local zone=$LAB_DIR/nsd/test.zone servers=$LAB_DIR/nginx/servers.conf
	BROKEN_ZONES=()
	cat >"$zone" <<EOF
\$ORIGIN test.
@ $TTL IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ $TTL IN NS ns.test.
ns $TTL IN A $LAB_DNS_ADDR
mta-sts.probe $TTL IN A $LAB_PROBE_ADDR
EOF
	: >"$servers"
	mkdir -p "$LAB_DIR/www/probe/.well-known"
	printf 'version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n' \
		>"$LAB_DIR/www/probe/.well-known/mta-sts.txt"
	make_cert mta-sts.probe.test ok "$LAB_DIR/certs/mta-sts.probe.test.pem"
	nginx_server "$LAB_PROBE_ADDR" mta-sts.probe.test \
		"$LAB_DIR/certs/mta-sts.probe.test.pem" "$LAB_DIR/www/probe" \
		'TLSv1.2 TLSv1.3' '' '' '' >>"$servers"
	gen_scenarios "$zone" "$servers"
	gen_bulk "$zone" "$servers"
	gen_mx "$zone"
	write_nsd_conf
	write_nginx_conf "$servers"

	nsd-checkzone test. "$zone" >"$LAB_DIR/logs/nsd-checkzone.log" 2>&1 ||
		start_failed "zone check failed" "$LAB_DIR/logs/nsd-checkzone.log"
	nsd-checkconf "$LAB_DIR/nsd/nsd.conf" >"$LAB_DIR/logs/nsd-checkconf.log" 2>&1 ||
		start_failed "nsd.conf check failed" "$LAB_DIR/logs/nsd-checkconf.log"
	nsd -c "$LAB_DIR/nsd/nsd.conf" >>"$LAB_DIR/logs/nsd.log" 2>&1 ||
		start_failed "nsd did not start" "$LAB_DIR/logs/nsd.log"
	command nginx -p "$LAB_DIR/nginx" -c "$LAB_DIR/nginx/nginx.conf" \
		-e "$LAB_DIR/logs/nginx-error.log" >"$LAB_DIR/logs/nginx-start.log" 2>&1 ||
		start_failed "nginx did not start" "$LAB_DIR/logs/nginx-start.log" \
			"$LAB_DIR/logs/nginx-error.log"
	if ((MX_ON)); then
		# Not "master -w" (it takes 2 s): master stays in the
		# foreground; wait_ready checks that it listens.
		setsid "$LAB_POSTFIX_DAEMONS/master" -c "$LAB_DIR/mx/etc" \
			</dev/null >"$LAB_DIR/logs/postfix-start.log" 2>&1 &
		if [[ -s $LAB_DIR/mx/hostile.args ]]; then
			local -a hargs
			mapfile -t hargs <"$LAB_DIR/mx/hostile.args"
			setsid python3 "$LAB_SRC/hostile-smtp.py" \
				--pidfile "$LAB_DIR/mx/hostile.pid" "${hargs[@]}" \
				</dev/null >"$LAB_DIR/logs/hostile-smtp.log" 2>&1 &
		fi
	fi
	# For programs that use the system resolver (Postfix's smtp client):
	# run-in-lab.sh mounts this file on /etc/resolv.conf.
	printf 'nameserver %s\noptions attempts:1 timeout:2\n' "$LAB_DNS_ADDR" \
		>"$LAB_DIR/resolv.conf"
	wait_ready

	{
		printf 'LAB_DIR=%q\n' "$LAB_DIR"
		printf 'LAB_RESOLVER=%q\n' "$LAB_DNS_ADDR@$LAB_DNS_PORT"
		printf 'LAB_CA=%q\n' "$LAB_DIR/ca/ca.pem"
		printf 'LAB_DNS_ADDR=%q\n' "$LAB_DNS_ADDR"
		printf 'LAB_DNS_PORT=%q\n' "$LAB_DNS_PORT"
		printf 'LAB_SCENARIOS=%q\n' "$LAB_SRC/scenarios.tsv"
		printf 'LAB_BULK=%q\n' "$LAB_BULK"
		printf 'LAB_BULK_DOMAINS=%q\n' "$LAB_DIR/bulk-domains.txt"
		printf 'LAB_BULK_MX=%q\n' "$LAB_DIR/bulk-mx.tsv"
		printf 'LAB_MX=%q\n' "$MX_ON"
		printf 'LAB_MX_HOSTS=%q\n' "$LAB_DIR/mxhosts.tsv"
		printf 'LAB_MX_MAIL=%q\n' "$LAB_DIR/mx/mail"
		printf 'LAB_MX_LOG=%q\n' "$LAB_DIR/logs/mx-postfix.log"
		printf 'LAB_MX_SLOW=%q\n' "$LAB_MX_SLOW"
		printf 'LAB_RESOLV_CONF=%q\n' "$LAB_DIR/resolv.conf"
	} >"$LAB_DIR/env.tmp"
	mv "$LAB_DIR/env.tmp" "$LAB_DIR/env"
}

# postfix-sender.sh sources this file for its functions only.
[[ -z ${LAB_LIB_ONLY:-} ]] || return 0

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
tsv) cmd_tsv ;;
expect) cmd_expect ;;
mxhosts) cmd_mxhosts ;;
mail) cmd_mail ;;
*)
	echo "usage: lab.sh start|stop|status|tsv|expect|mxhosts|mail" >&2
	exit 2
	;;
esac

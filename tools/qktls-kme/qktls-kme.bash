# SPDX-License-Identifier: GPL-2.0-only
# bash completion for qktls-kme(1), installed as
# share/bash-completion/completions/qktls-kme.  Self-contained (compgen only).

_qktls_kme()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local i cmd=

	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-c|--cert|-k|--key|-C|--ca)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-u|--url|-t|--timeout|-n|--number|-s|--size|-a|--additional|\
	--ext-mandatory|--ext-optional)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-u --url -c --cert -k --key -C --ca \
			-t --timeout -n --number -s --size -a --additional \
			--ext-mandatory --ext-optional -G --get --show-keys \
			-p --pretty -v --verbose -h --help" -- "$cur"))
		return
	fi
	# The command is the first word that is neither an option nor the
	# value of one.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c|--cert|-k|--key|-C|--ca|-u|--url|-t|--timeout|-n|--number|\
		-s|--size|-a|--additional|--ext-mandatory|--ext-optional)
			i=$((i + 1)) ;;
		-*) ;;
		*) [ -z "$cmd" ] && cmd=${COMP_WORDS[i]} ;;
		esac
	done
	[ -z "$cmd" ] && COMPREPLY=($(compgen -W "status get get-by-id" -- "$cur"))
}

complete -F _qktls_kme qktls-kme

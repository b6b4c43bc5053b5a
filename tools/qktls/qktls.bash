# SPDX-License-Identifier: GPL-2.0-only
# bash completion for qktls(8), installed as
# share/bash-completion/completions/qktls.  Self-contained (compgen only).
# Pool names come from `qktls pool list`, which needs CAP_NET_ADMIN; without
# it they are simply not offered.

_qktls_pools()
{
	"$1" pool list 2>/dev/null | while read -r name _; do
		printf '%s\n' "$name"
	done
}

_qktls()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local i=1 obj= verb= pos
	local objects="pool key sock stats monitor help version"

	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	# Options come before the object, as in ip(8).
	while [ "$i" -lt "$COMP_CWORD" ] && [[ ${COMP_WORDS[i]} == -* ]]; do
		i=$((i + 1))
	done
	if [ "$i" -eq "$COMP_CWORD" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-j --json -p --pretty -s --stats \
				-V --version -h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$objects" -- "$cur"))
		fi
		return
	fi
	obj=${COMP_WORDS[i]}
	i=$((i + 1))
	if [ "$i" -eq "$COMP_CWORD" ]; then
		case $obj in
		pool) COMPREPLY=($(compgen -W "add set del show list help" -- "$cur")) ;;
		key) COMPREPLY=($(compgen -W "add del flush list take help" -- "$cur")) ;;
		sock) COMPREPLY=($(compgen -W "show detach help" -- "$cur")) ;;
		monitor) COMPREPLY=($(compgen -W "pool sock count" -- "$cur")) ;;
		help) COMPREPLY=($(compgen -W "pool key sock stats monitor" -- "$cur")) ;;
		esac
		return
	fi
	verb=${COMP_WORDS[i]}
	pos=$((COMP_CWORD - i))	# 1: the word right after the verb
	case $obj in
	pool)
		case $verb in
		add)
			[ "$pos" -eq 1 ] && return	# a new pool's name
			case $prev in
			peer|key-len|capacity|low|lifetime|rekey-bytes|rekey-seconds) return ;;
			esac
			COMPREPLY=($(compgen -W "peer key-len capacity low lifetime \
				rekey-bytes rekey-seconds" -- "$cur"))
			;;
		set)
			if [ "$pos" -eq 1 ]; then
				COMPREPLY=($(compgen -W "$(_qktls_pools "$1")" -- "$cur"))
				return
			fi
			case $prev in
			peer|capacity|low|lifetime|rekey-bytes|rekey-seconds) return ;;
			esac
			COMPREPLY=($(compgen -W "peer capacity low lifetime \
				rekey-bytes rekey-seconds" -- "$cur"))
			;;
		del|show)
			[ "$pos" -eq 1 ] &&
				COMPREPLY=($(compgen -W "$(_qktls_pools "$1")" -- "$cur"))
			;;
		esac
		;;
	key)
		if [ "$pos" -eq 1 ]; then
			case $verb in
			add|del|flush|list|take)
				COMPREPLY=($(compgen -W "$(_qktls_pools "$1")" -- "$cur")) ;;
			esac
			return
		fi
		[ "$verb" = add ] || return
		case $prev in
		--file) COMPREPLY=($(compgen -f -- "$cur")) ;;
		--key-len|--batch) ;;
		*) COMPREPLY=($(compgen -W "--hex --raw --key-len --batch --file -" -- "$cur")) ;;
		esac
		;;
	monitor)
		case $prev in
		pool) COMPREPLY=($(compgen -W "$(_qktls_pools "$1")" -- "$cur")) ;;
		sock|count) ;;
		*) COMPREPLY=($(compgen -W "pool sock count" -- "$cur")) ;;
		esac
		;;
	esac
}

complete -F _qktls qktls

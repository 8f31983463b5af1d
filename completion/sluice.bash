# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for sluice(8): commands, global and per-command options, interfaces, files.
# shellcheck shell=bash
#
# Needs nothing from the bash-completion package. Installed as
# PREFIX/share/bash-completion/completions/sluice; for a checkout: . completion/sluice.bash

_sluice_commands='attach detach policy status tenants run usage quota top gc purge version help'
_sluice_globals='--pin-root --netns --json -v -vv --verbose -h --help --version'

# _sluice_ifaces NETNS: interface names, of network namespace NETNS when it is not empty.
_sluice_ifaces() {
	if [ -n "$1" ]; then
		ip -n "$1" -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
	else
		ls /sys/class/net 2>/dev/null
	fi
}

_sluice_files() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

_sluice_dirs() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -d -- "$1")
}

_sluice() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd='' netns='' opts='' i w
	local -a args=()

	COMPREPLY=()
	# The command is the first word that is neither a global option nor a global's value;
	# args are the words after it that are not options.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--pin-root | --netns)
			[ "$w" = --netns ] && netns=${COMP_WORDS[i + 1]}
			i=$((i + 1))
			;;
		--netns=*) netns=${w#--netns=} ;;
		--policy | --state-dir | --billing-dir | --interval | --flush-interval | --metrics | --hook | \
			--mode | --table-size | --tenant | --period | --count) i=$((i + 1)) ;;
		-*) ;;
		*) if [ -z "$cmd" ]; then cmd=$w; else args+=("$w"); fi ;;
		esac
	done

	case $prev in
	--pin-root | --state-dir | --billing-dir) _sluice_dirs "$cur"; return ;;
	--policy) _sluice_files "$cur"; return ;;
	--netns)
		mapfile -t COMPREPLY < <(compgen -W "$(ip netns list 2>/dev/null |
			awk '{ print $1 }')" -- "$cur")
		return
		;;
	--hook) mapfile -t COMPREPLY < <(compgen -W 'xdp tc' -- "$cur"); return ;;
	--mode) mapfile -t COMPREPLY < <(compgen -W 'native skb' -- "$cur"); return ;;
	--period) mapfile -t COMPREPLY < <(compgen -W 'current previous' -- "$cur"); return ;;
	--interval | --flush-interval | --table-size | --tenant | --count | --metrics) return ;;
	esac

	case $cmd in
	'') opts='' ;;
	attach) opts='--hook --mode --table-size' ;;
	run) opts='--policy --state-dir --billing-dir --interval --flush-interval --metrics' ;;
	usage) opts='--tenant --period --state-dir' ;;
	quota) opts='--state-dir' ;;
	tenants) opts='--interval' ;;
	top) opts='--interval --count --state-dir' ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts $_sluice_globals" -- "$cur")
		return
	fi

	case $cmd in
	'') mapfile -t COMPREPLY < <(compgen -W "$_sluice_commands" -- "$cur") ;;
	attach | detach)
		[ ${#args[@]} -eq 0 ] &&
			mapfile -t COMPREPLY < <(compgen -W "$(_sluice_ifaces "$netns")" -- "$cur")
		;;
	policy)
		if [ ${#args[@]} -eq 0 ]; then
			mapfile -t COMPREPLY < <(compgen -W 'check apply show' -- "$cur")
		elif [ ${#args[@]} -eq 1 ] && [[ ${args[0]} == check || ${args[0]} == apply ]]; then
			_sluice_files "$cur"
		fi
		;;
	quota)
		[ ${#args[@]} -eq 0 ] &&
			mapfile -t COMPREPLY < <(compgen -W 'grant reset' -- "$cur")
		;;
	help)
		[ ${#args[@]} -eq 0 ] &&
			mapfile -t COMPREPLY < <(compgen -W "$_sluice_commands" -- "$cur")
		;;
	esac
	return 0
}

complete -F _sluice sluice

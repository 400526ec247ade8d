# `make help`: the targets of `target: ... ## description` lines (read as target<TAB>description),
# grouped: the students' (in the order of `students`), the instructors', then every other
# one (the maintainers'), each target once.
BEGIN {
	FS = "\t"
	ns = split(students, student, " ")
	ni = split(instructors, instructor, " ")
}
{
	if (!($1 in desc)) order[++n] = $1
	desc[$1] = $2
}
function row(t) {
	if ((t in desc) && !(t in shown)) {
		printf "  %-20s %s\n", t, desc[t]
		shown[t] = 1
	}
}
END {
	print "Students:"
	for (k = 1; k <= ns; k++) row(student[k])
	print "\nInstructors:"
	for (k = 1; k <= ni; k++) row(instructor[k])
	print "\nMaintainers:"
	for (k = 1; k <= n; k++) row(order[k])
}

# Configure switches for monkey's shipped sandbox backends: one per backend,
# so that a distribution can build and package each one on its own.

# MONKEY_ARG_BACKEND(NAME, HELP-STRING, DEFAULT)
# ----------------------------------------------
# --enable-backend-NAME[=VALUE] / --disable-backend-NAME; sets
# enable_backend_NAME to VALUE or DEFAULT.
AC_DEFUN([MONKEY_ARG_BACKEND],
[AC_ARG_ENABLE([backend-$1], [$2], [], [enable_backend_$1=$3])])

# MONKEY_BACKEND_RESULT(NAME)
# ---------------------------
# Once enable_backend_NAME is final: HAVE_BACKEND_NAME in config.h (the
# tests adapt to the backends a build has) and the BACKEND_NAME automake
# conditional.  A value other than yes or no is refused by name.
AC_DEFUN([MONKEY_BACKEND_RESULT],
[AS_CASE([$enable_backend_$1],
  [yes|no], [],
  [AC_MSG_ERROR([--enable-backend-$1 must be yes or no, not '$enable_backend_$1'])])
AS_IF([test "x$enable_backend_$1" = xyes],
  [AC_DEFINE([HAVE_BACKEND_]m4_toupper([$1]), [1], [the $1 backend is built])])
AM_CONDITIONAL([BACKEND_]m4_toupper([$1]), [test "x$enable_backend_$1" = xyes])])

# MONKEY_BACKEND_NEEDS_PKG(NAME, VARIABLE-PREFIX, PKG-MODULES, DEB-PACKAGE)
# -------------------------------------------------------------------------
# For a backend whose switch is auto|yes|no and that needs one pkg-config
# module: auto builds it when the module is found, yes fails configure
# naming the package to install, no skips the check.  Sets PREFIX_CFLAGS
# and PREFIX_LIBS.
AC_DEFUN([MONKEY_BACKEND_NEEDS_PKG],
[AS_CASE([$enable_backend_$1],
  [auto|yes], [PKG_CHECK_MODULES([$2], [$3], [monkey_have_$1_dep=yes],
    [monkey_have_$1_dep=no])],
  [no], [],
  [AC_MSG_ERROR([--enable-backend-$1 must be auto, yes or no, not '$enable_backend_$1'])])
AS_CASE([$enable_backend_$1],
  [auto], [enable_backend_$1=$monkey_have_$1_dep],
  [yes], [AS_IF([test "x$monkey_have_$1_dep" != xyes],
    [AC_MSG_ERROR([--enable-backend-$1=yes needs $3: install $4 (apt-get install $4)])])])])

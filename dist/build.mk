# dist/build.mk - what `make install` puts beside the programs: the manual
# pages vqscope(1) and vqscope-trace(8), and the bash completion of both
# (one file, installed under each program's name so bash-completion finds
# it).  tests/dist/test-dist-install.sh checks them.

INSTALL_MAN1 += dist/vqscope.1
INSTALL_MAN8 += dist/vqscope-trace.8
INSTALL_BASH_COMPLETION += dist/vqscope.bash-completion
BASH_COMPLETION_NAMES := vqscope vqscope-trace

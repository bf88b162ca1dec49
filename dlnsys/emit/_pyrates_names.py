"""Names that PyRates cannot take as symbols (data for :mod:`dlnsys.emit.pyrates`).

PyRates (1.2) parses every equation with ``sympy.sympify`` and no local namespace, so a symbol
whose name is also a SymPy name (``E``, ``S``, ``beta``, ``gamma``, ``li``, ``sign`` ...) turns
into a constant or a function class: silently wrong values or a crash deep in the parser. This
list is every name of at most 10 characters in ``dir(sympy)`` (SymPy 1.14) that does not
sympify to a plain Symbol of the same name, plus PyRates' own reserved names and the names its
Fortran backend declares (the module constants ``PI`` and ``I``, the arguments of AUTO's
``func``). It is data, not code that imports SymPy, so the writer stays pure and its output does
not depend on what is installed; ``tests/test_pycobi.py`` re-derives the SymPy part from the
installed SymPy and fails if a catalog name is missing here.
"""

SYMPY_NAMES = frozenset("""
Abs Add Adjoint And Array Atom AtomicExpr Basic CC CRootOf Catalan Chi Ci Circle Complement Complexes Contains
Curve Derivative DiagMatrix DiagonalOf Dict DiracDelta Domain DotProduct Dummy E E1 EPath EX EXRAW Ei Eijk
Ellipse EmptySet Eq Equality Equivalent EulerGamma Expr FF FF_gmpy FF_python FiniteSet FlagError Float
Function GF Ge Gt Heaviside I ITE Id Identity Idx ImageSet Implies Indexed Integer Integers Integral Interval
Inverse LC LM LT Lambda LambertW Le LessThan LeviCivita Li Limit Line Line2D Line3D Lt MatAdd MatMul MatPow
Matrix MatrixBase MatrixExpr Max Min Mod Monomial Mul N NDimArray Nand Naturals Naturals0 Ne Nor Not Number O
OmegaPower OneMatrix Options Or Order Ordinal POSform Parabola Permanent Piecewise Plane Point Point2D Point3D
PoleError Poly Polygon Pow PowerSet Predicate Product ProductSet PurePoly Q QQ QQ_I QQ_gmpy QQ_python
Quaternion RR Range Rational Rationals Ray Ray2D Ray3D RealField RealNumber Reals Rel Rem RootOf RootSum S
SOPform Segment Segment2D Segment3D SeqAdd SeqFormula SeqMul SeqPer Set ShapeError Shi Si Sieve StrPrinter
Subs Sum Symbol TableForm Trace Transpose Triangle Tuple Unequality Union Wild Xor Ynm Ynm_c ZZ ZZ_I ZZ_gmpy
ZZ_python ZeroMatrix Znm abundance acos acosh acot acoth acsc acsch adjoint airyai airybi all_roots andre
apart apart_list appellf1 arg arity asec asech asin asinh ask assuming atan atan2 atanh banded bell bernoulli
besseli besselj besselk besselsimp bessely beta betainc binomial blockcut bool_map bottom_up cacheit cancel
capture carmichael cartes casoratian catalan cbrt ccode ceiling centroid chebyshevt chebyshevu checksol
cofactors collect combsimp comp compose composite conjugate content cos cosh cot coth count_ops csc csch cse
cxxcode decompogen decompose deg degree denom det det_quick diag dict_merge diff digamma div divisors doctest
dotprint dsolve elliptic_e elliptic_f elliptic_k epath erf erf2 erf2inv erfc erfcinv erfi erfinv euler
evaluate exp exp_polar expand expand_log expand_mul expint exquo eye factor factor_nc factorial factorial2
factorint factorrat false fcode ff fft fibonacci field filldedent flatten floor fps frac fraction fresnelc
fresnels fu fwht gamma gammasimp gcd gcd_list gcd_terms gcdex gegenbauer genocchi gff gff_list glsl_code
grevlex grlex groebner group gruntz half_gcdex hankel1 hankel2 harmonic has_dups hermite hessian hn1 hn2
horner hyper hypersimp idiff ifft ifwht igcd igrevlex igrlex ilcm ilex im imageset integrate intervals intt
inv_quick invert is_convex is_perfect isolate isprime jacobi jn jn_zeros jscode julia_code laguerre lambdify
latex lcm lcm_list legendre lerchphi lex li limit limit_seq linsolve list2numpy ln log logcombine loggamma
lowergamma lucas maple_code marcumq mathieuc mathieus mathml maximum meijerg minimum minpoly mobius monic
motzkin multigamma n_order nan nextprime nfloat nroots nsimplify nsolve ntt num_digits numer ode_order ones oo
ord0 ordered parse_expr partition pdiv pdsolve per pexquo pi plot polar_lift polarify poly polygamma polylog
posify postfixes powdenest powsimp pprint pquo prefixes prem pretty preview prevprime prime primenu primeomega
primepi primerange primitive primorial print_glsl print_gtk print_tree prod product public pycode python quo
rad radsimp randMatrix randprime ratsimp rcode rcollect re real_root real_roots reduced refine rem reshape
residue resultant rf riemann_xi ring root rootof roots rot_axis1 rot_axis2 rot_axis3 rot_givens rotations
round_two rsolve rust_code sec sech sequence series seterr sfield shape sift sign signsimp simplify sin sinc
sinh solve solveset sqf sqf_list sqf_norm sqf_part sqrt sqrt_mod sqrtdenest srepr sring sstr sstrrepr
stieltjes sturm subsets summation symarray symbols symmetrize sympify take tan tanh terms_gcd test textplot
threaded timed to_cnf to_dnf to_nnf together totient trace trailing transpose tribonacci trigamma trigsimp
true trunc unflatten unpolarify uppergamma use var variations vectorize vfield viete vring wronskian xfield
xring xthreaded yn zeros zeta zoo""".split())

#: PyRates' reserved names (``pyrates.frontend.template.operator.check_vname``) and what its
#: Fortran/AUTO code declares (compared case-insensitively: Fortran ignores case).
PYRATES_NAMES = frozenset("""
    y dy t source_idx target_idx pi i e s q o n oo zoo nan beta gamma exp log sin cos tan cot sec csc
    sinh cosh tanh sqrt abs ndim icp ijac args dfdu dfdp func stpnt bcnd icnd fopt pvls u0 u1 par
""".split())

#: Substrings PyRates refuses in any variable name.
PYRATES_NAME_PARTS = ("_buffer", "_delays", "_maxdelay", "_idx", "_hist")

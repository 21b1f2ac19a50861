from samspil.cli import main

raise SystemExit(main())
